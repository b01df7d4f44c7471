#pragma once

// A storage engine on a scratch directory, shared by the storage suites.

#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <system_error>

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include "durable/storage_engine.hpp"

namespace test {

/// A forked process that reports to the test through a pipe and ends by
/// SIGKILL (crash tests: kill -9 at a point of the child's choosing).
struct child_process {
  pid_t pid = -1;
  /// The read end of the child's pipe.
  int fd = -1;

  /// Forks a child that runs `fn(write_fd)`; `fn` must not return.
  template <class F>
  explicit child_process(F fn) {
    int fds[2];
    BOOST_REQUIRE_EQUAL(pipe(fds), 0);
    pid = fork();
    BOOST_REQUIRE_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      fn(fds[1]);
      _exit(9);
    }
    close(fds[1]);
    fd = fds[0];
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  ~child_process() {
    if (pid > 0)
      kill9();
    if (fd >= 0)
      close(fd);
  }

  /// Kills the child with SIGKILL and reaps it; returns whether it died of
  /// the signal (rather than exiting on its own before).
  bool kill9() {
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }
};

struct engine_fixture {
  std::string dir;
  std::unique_ptr<durable::storage_engine> engine;

  explicit engine_fixture(const char* prefix) {
    std::string tmpl = std::string{"/tmp/"} + prefix + "-XXXXXX";
    BOOST_REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }

  ~engine_fixture() {
    engine.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  void reopen(durable::storage_options opts = {}) {
    engine.reset();
    opts.data_dir = dir;
    auto res = durable::storage_engine::open(opts);
    BOOST_REQUIRE(res);
    engine = std::move(*res);
  }

  /// The commit writer of `j`'s environment.
  durable::commit_writer&
  writer(durable::jurisdiction j = durable::jurisdiction::none) {
    auto res = engine->writer(j);
    BOOST_REQUIRE(res);
    return **res;
  }

  /// Submits `ws` and waits for its completion.
  caf::error submit_wait(durable::write_set ws) {
    std::promise<caf::error> done;
    auto result = done.get_future();
    engine->submit(std::move(ws),
                   [&done](const caf::error& err) { done.set_value(err); });
    return result.get();
  }
};

} // namespace test
