#pragma once

namespace caf {
class actor_system_config;
} // namespace caf

namespace durable {

class object_runtime;

/// Returns whether the calling thread runs actors: a CAF scheduler thread of
/// a system configured with `watch_actor_threads`, or any thread while it
/// runs a durable object. Blocking there (say, `stub::call`) stalls the
/// scheduler and, with one worker, deadlocks it.
bool on_actor_thread() noexcept;

/// Marks every thread that `cfg`'s actor system starts as an actor thread.
/// `durable::config` and `add_message_types` call this.
void watch_actor_threads(caf::actor_system_config& cfg);

/// The durable object whose message the calling thread handles, if any:
/// output that does not name its sender (a stub's `anon_send`) passes that
/// object's output gate.
object_runtime* current_object() noexcept;

/// Marks the calling thread as running durable object `rt` for the scope's
/// lifetime.
class actor_thread_scope {
public:
  explicit actor_thread_scope(object_runtime* rt) noexcept;
  ~actor_thread_scope();

  actor_thread_scope(const actor_thread_scope&) = delete;
  actor_thread_scope& operator=(const actor_thread_scope&) = delete;

private:
  object_runtime* prev_;
};

} // namespace durable
