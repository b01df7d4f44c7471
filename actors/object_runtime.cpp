#include "durable/object_runtime.hpp"

#include <exception>
#include <string>

#include <caf/detail/behavior_impl.hpp>
#include <caf/detail/invoke_result_visitor.hpp>
#include <caf/message_view.hpp>
#include <caf/result.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/type_erased_tuple.hpp>

#include "durable/atoms.hpp"
#include "durable/errc.hpp"

namespace durable {

// -- the guard around the user's behavior
// --------------------------------------

/// Runs the user's behavior one turn at a time. Lives in the actor's behavior
/// stack, so it sees exactly the messages the user's handlers would see
/// (system messages and responses bypass it).
class guarded_behavior : public caf::detail::behavior_impl {
public:
  guarded_behavior(pointer user, object_runtime* rt, caf::scheduled_actor* self)
      : behavior_impl(user->timeout()),
        user_(std::move(user)),
        rt_(rt),
        self_(self) {
    // nop
  }

  caf::match_case::result invoke(caf::detail::invoke_result_visitor& f,
                                 caf::type_erased_tuple& xs) override {
    if (xs.match_elements<idle_check_atom>()) {
      rt_->on_idle_check(self_);
      return caf::match_case::match;
    }
    // Messages an object sends itself are not admitted, so they don't leave.
    bool admitted = self_->current_sender() != self_->ctrl();
    rt_->touch();
    auto result = run(f, xs);
    if (admitted)
      rt_->leave();
    return result;
  }

  caf::match_case::result
  invoke_empty(caf::detail::invoke_result_visitor& f) override {
    return user_->invoke_empty(f);
  }

  void handle_timeout() override { user_->handle_timeout(); }

private:
  caf::match_case::result run(caf::detail::invoke_result_visitor& f,
                              caf::type_erased_tuple& xs) {
    try {
      return user_->invoke(f, xs);
    } catch (const std::exception& e) {
      auto err = make_error(errc::exception_thrown, e.what());
      f(err);
    } catch (...) {
      auto err = make_error(errc::exception_thrown,
                            "Durable Object threw a non-standard exception");
      f(err);
    }
    return caf::match_case::match;
  }

  pointer user_;
  object_runtime* rt_;
  caf::scheduled_actor* self_;
};

// -- object_runtime
// -------------------------------------------------------------

object_runtime::object_runtime(caf::timespan idle_timeout) noexcept
    : state_(0),
      last_active_(clock::now().time_since_epoch().count()),
      idle_timeout_(idle_timeout) {
  // nop
}

object_runtime::~object_runtime() {
  // nop
}

object_runtime::admission object_runtime::admit(uint32_t max_queued) noexcept {
  auto prev = state_.fetch_add(1, std::memory_order_acq_rel);
  if ((prev & closed_flag) == 0 && (prev & ~closed_flag) < max_queued)
    return admission::admitted;
  state_.fetch_sub(1, std::memory_order_acq_rel);
  return (prev & closed_flag) != 0 ? admission::closed : admission::overloaded;
}

bool object_runtime::idle_at(clock::time_point now) const noexcept {
  auto last = clock::time_point{
      clock::duration{last_active_.load(std::memory_order_relaxed)}};
  return now - last >= idle_timeout_;
}

void object_runtime::leave() noexcept {
  // Saturating: a stray message that was never admitted must not wrap the
  // counter into the closed flag.
  auto cur = state_.load(std::memory_order_acquire);
  while (
      (cur & ~closed_flag) != 0 &&
      !state_.compare_exchange_weak(cur, cur - 1, std::memory_order_acq_rel)) {
    // retry
  }
}

void object_runtime::on_idle_check(caf::scheduled_actor* self) {
  if (!idle_at(clock::now()) || !may_evict())
    return;
  uint32_t expected = 0;
  if (state_.compare_exchange_strong(expected, closed_flag,
                                     std::memory_order_acq_rel))
    self->quit();
}

caf::result<caf::message>
object_runtime::reject_unexpected(caf::scheduled_actor*, caf::message_view&) {
  return make_error(errc::unsupported_message);
}

caf::behavior object_runtime::guard(caf::behavior user,
                                    caf::scheduled_actor* self) {
  if (!user)
    return user;
  caf::intrusive_ptr<caf::detail::behavior_impl> impl =
      caf::make_counted<guarded_behavior>(user.as_behavior_impl(), this, self);
  caf::behavior result;
  result.assign(std::move(impl));
  return result;
}

} // namespace durable
