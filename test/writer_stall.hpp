#pragma once

// Stalls the commit writer of an environment, for tests of the output gate.

#include <atomic>
#include <future>
#include <thread>

#include <boost/test/unit_test.hpp>

#include "durable/deployment.hpp"
#include "durable/meta_transaction.hpp"
#include "test_objects.hpp"

namespace test {

/// Holds the commit writer of the global environment inside a transaction
/// until `resume` (or the end of the scope).
class writer_stall {
public:
  explicit writer_stall(durable::deployment& dep)
      : resume_(go_.get_future().share()), thread_([this, &dep] {
          auto err = dep.engine().update(durable::jurisdiction::none,
                                         [this](durable::meta_transaction&) {
                                           stalled_ = true;
                                           resume_.wait();
                                           return caf::error{};
                                         });
          BOOST_CHECK(!err);
        }) {
    BOOST_REQUIRE(eventually([this] { return stalled_.load(); }));
  }

  ~writer_stall() { resume(); }

  void resume() {
    if (thread_.joinable()) {
      go_.set_value();
      thread_.join();
    }
  }

private:
  std::promise<void> go_;
  std::shared_future<void> resume_;
  std::atomic<bool> stalled_{false};
  std::thread thread_;
};

} // namespace test
