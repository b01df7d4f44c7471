#pragma once

// A storage engine on a scratch directory, shared by the storage suites.

#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <system_error>

#include <boost/test/unit_test.hpp>

#include "durable/storage_engine.hpp"

namespace test {

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
