#include "durable/actor_thread.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/thread_hook.hpp>

namespace durable {

namespace {

thread_local bool actor_thread = false;

thread_local object_runtime* running_object = nullptr;

class actor_thread_hook : public caf::thread_hook {
public:
  void init(caf::actor_system&) override {
    // nop
  }

  void thread_started() override { actor_thread = true; }

  void thread_terminates() override { actor_thread = false; }
};

} // namespace

bool on_actor_thread() noexcept {
  return actor_thread || running_object != nullptr;
}

object_runtime* current_object() noexcept {
  return running_object;
}

void watch_actor_threads(caf::actor_system_config& cfg) {
  cfg.add_thread_hook<actor_thread_hook>();
}

actor_thread_scope::actor_thread_scope(object_runtime* rt) noexcept
    : prev_(running_object) {
  running_object = rt;
}

actor_thread_scope::~actor_thread_scope() {
  running_object = prev_;
}

} // namespace durable
