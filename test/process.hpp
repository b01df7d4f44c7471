#pragma once

// Runs a program as a real child process for the tests that need one (the
// admin tool, the examples): output captured in files, environment
// additions, and a watchdog so that a hanging child cannot hang the test.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace test {

struct run_result {
  /// The exit status, or minus the signal that ended the child (e.g. -7 for
  /// SIGBUS, -14 for SIGALRM when the watchdog fired).
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

/// `argv` as execv wants it: pointers into the strings, then null.
inline std::vector<char*> c_args(std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  return args;
}

/// Runs `argv` (argv[0] is the program's path) with stdout and stderr in
/// files under `dir`, the variables `env` ("NAME=value") added to the
/// environment, and SIGALRM after `timeout_s` seconds.
inline run_result run_process(std::vector<std::string> argv,
                              const std::string& dir,
                              std::vector<std::string> env = {},
                              unsigned timeout_s = 60) {
  auto out_path = dir + "/stdout";
  auto err_path = dir + "/stderr";
  auto args = c_args(argv);
  auto pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0)
      ::_exit(127);
    for (auto& x : env)
      ::putenv(x.data());
    ::alarm(timeout_s); // survives exec: the watchdog
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  run_result result;
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid)
    return result;
  result.code = WIFEXITED(status)     ? WEXITSTATUS(status)
                : WIFSIGNALED(status) ? -WTERMSIG(status)
                                      : -1;
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  return result;
}

/// Starts `argv` (argv[0] is the program's path) with its stdout on a pipe,
/// its stderr appended to `err_path` (if not empty) and the variables `env`
/// ("NAME=value") added. Returns the child's pid, or -1, and the pipe's read
/// end in `out` (the caller closes it).
inline pid_t spawn_piped(std::vector<std::string> argv, FILE*& out,
                         const std::string& err_path = {},
                         std::vector<std::string> env = {}) {
  out = nullptr;
  int fds[2];
  if (::pipe(fds) != 0)
    return -1;
  auto args = c_args(argv);
  auto pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    if (!err_path.empty()) {
      auto err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0)
        ::dup2(err, STDERR_FILENO);
    }
    for (auto& x : env)
      ::putenv(x.data());
    ::execv(args[0], args.data());
    std::_Exit(127);
  }
  ::close(fds[1]);
  if (pid < 0)
    ::close(fds[0]);
  else
    out = ::fdopen(fds[0], "r");
  return pid;
}

} // namespace test
