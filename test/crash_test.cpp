// Durability under kill -9 with real processes: the counter example runs
// increments and prints `ack <name> <value>` per acknowledged increment; it is
// killed at random moments and restarted, and every acknowledged value must
// still be there. DURABLE_LONG_TESTS=1 runs 25 rounds instead of 4.

#define BOOST_TEST_MODULE crash
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#ifndef COUNTER_BINARY
#error "COUNTER_BINARY must name the counter example"
#endif

namespace {

constexpr int objects = 8;

struct child {
  pid_t pid = -1;
  int out = -1;
};

child start(const std::vector<std::string>& args) {
  int fds[2];
  BOOST_REQUIRE(pipe(fds) == 0);
  auto pid = fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

/// Blocks until the child printed its first complete line and returns what it
/// read so far: the child is then up and acknowledging, so the kill that
/// follows lands on work in flight however slowly the child starts (under
/// ThreadSanitizer start-up alone takes about a second).
std::string await_first_line(int fd) {
  std::string data;
  char buf[4096];
  ssize_t n;
  while (data.find('\n') == std::string::npos &&
         (n = read(fd, buf, sizeof(buf))) > 0)
    data.append(buf, static_cast<size_t>(n));
  return data;
}

/// Reads everything the child printed until EOF (after `data`, what was read
/// before); keeps complete lines only.
std::vector<std::string> read_lines(int fd, std::string data = {}) {
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0)
    data.append(buf, static_cast<size_t>(n));
  close(fd);
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t pos; (pos = data.find('\n', start)) != std::string::npos;
       start = pos + 1)
    lines.push_back(data.substr(start, pos - start));
  return lines;
}

int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

std::string data_dir() {
  char tmpl[] = "/tmp/durable-crash-XXXXXX";
  BOOST_REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

/// Runs `counter --dump` and returns the value of every object.
std::map<std::string, long long> dump(const std::string& dir) {
  auto c = start({COUNTER_BINARY, "--data-dir", dir + "/data", "--objects",
                  std::to_string(objects), "--dump"});
  auto lines = read_lines(c.out);
  auto status = wait_for(c.pid);
  BOOST_REQUIRE_MESSAGE(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                        "the environment must open cleanly after a crash");
  std::map<std::string, long long> result;
  for (auto& line : lines) {
    std::istringstream in{line};
    std::string tag, name;
    long long value;
    if (in >> tag >> name >> value && tag == "value")
      result[name] = value;
  }
  BOOST_REQUIRE_EQUAL(result.size(), static_cast<size_t>(objects));
  return result;
}

} // namespace

BOOST_AUTO_TEST_CASE(acknowledged_increments_survive_kill_9) {
  auto long_mode = std::getenv("DURABLE_LONG_TESTS") != nullptr;
  int rounds = long_mode ? 25 : 4;
  auto dir = data_dir();
  std::mt19937 rng{12345};
  std::uniform_int_distribution<int> delay_ms{30, 400};
  std::map<std::string, long long> last_ack;
  size_t total_acks = 0;
  for (int round = 0; round < rounds; ++round) {
    auto c = start({COUNTER_BINARY, "--data-dir", dir + "/data", "--objects",
                    std::to_string(objects), "--increments", "100000000",
                    "--inflight", "64"});
    auto first = await_first_line(c.out);
    usleep(static_cast<useconds_t>(delay_ms(rng)) * 1000);
    kill(c.pid, SIGKILL);
    auto lines = read_lines(c.out, std::move(first));
    auto status = wait_for(c.pid);
    BOOST_REQUIRE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    size_t acks = 0;
    for (auto& line : lines) {
      std::istringstream in{line};
      std::string tag, name;
      long long value;
      if (!(in >> tag >> name >> value) || tag != "ack")
        continue;
      ++acks;
      // An acknowledged value is never handed out twice: a repeat would mean
      // an acknowledged write was lost in a crash.
      BOOST_REQUIRE_MESSAGE(value > last_ack[name], name << " acknowledged "
                                                         << value << " after "
                                                         << last_ack[name]);
      last_ack[name] = value;
    }
    total_acks += acks;
    auto values = dump(dir);
    for (auto& [name, acked] : last_ack)
      BOOST_REQUIRE_MESSAGE(values[name] >= acked,
                            name << " has " << values[name]
                                 << " but acknowledged " << acked);
    BOOST_TEST_MESSAGE("round " << round << ": " << acks << " acks");
  }
  // The rounds did real work, so the check above means something.
  BOOST_CHECK_GT(total_acks, static_cast<size_t>(rounds) * 100);
  std::system(("rm -rf " + dir).c_str());
}
