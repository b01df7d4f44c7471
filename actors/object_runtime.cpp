#include "durable/object_runtime.hpp"

#include <exception>
#include <stdexcept>
#include <string>

#include <caf/actor_cast.hpp>
#include <caf/detail/behavior_impl.hpp>
#include <caf/detail/invoke_result_visitor.hpp>
#include <caf/message_view.hpp>
#include <caf/result.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>
#include <caf/type_erased_tuple.hpp>

#include "durable/atoms.hpp"
#include "durable/errc.hpp"
#include "durable/storage_engine.hpp"

namespace durable {

namespace {

/// Captures a handler's result instead of sending it, so that the gate can
/// hold it until the turn's writes are durable.
class capturing_visitor : public caf::detail::invoke_result_visitor {
public:
  using kind = object_runtime::turn_reply::kind;

  void operator()() override {
    // The handler answers later (promise or delegation): not ours to gate.
  }

  void operator()(caf::error& x) override {
    reply.what = kind::failure;
    reply.err = std::move(x);
  }

  void operator()(caf::message& x) override {
    reply.what = kind::value;
    reply.msg = std::move(x);
  }

  void operator()(const caf::none_t&) override {
    reply.what = kind::failure;
    reply.err = caf::sec::unexpected_response;
  }

  object_runtime::turn_reply reply;
};

/// The promise of the current message if it is a request. The result of an
/// asynchronous message goes nowhere: CAF would send it to the sender as an
/// unexpected message, whose error reply in turn terminates the receiver.
caf::response_promise answerable(caf::scheduled_actor* self) {
  auto* current = self->current_mailbox_element();
  if (current == nullptr || !current->mid.is_request())
    return {};
  return self->make_response_promise();
}

caf::error reset_error(const caf::error& cause) {
  // The object is reset either way, but a full map is not transient:
  // callers must be able to tell it and not retry (DESIGN: errors).
  auto code = is_storage_full(cause) ? errc::storage_full : errc::object_reset;
  return make_error(code, "Durable Object reset: a storage write failed: " +
                              message_of(cause));
}

} // namespace

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

  caf::match_case::result invoke(caf::detail::invoke_result_visitor&,
                                 caf::type_erased_tuple& xs) override {
    if (xs.match_elements<commit_atom, caf::error>()) {
      rt_->on_commit_failed(self_, xs.get_as<caf::error>(1));
      return caf::match_case::match;
    }
    if (xs.match_elements<idle_check_atom, caf::timespan>()) {
      rt_->on_idle_check(self_, xs.get_as<caf::timespan>(1));
      return caf::match_case::match;
    }
    // Messages an object sends itself are not admitted, so they don't leave.
    bool admitted = self_->current_sender() != self_->ctrl();
    if (rt_->broken_) {
      // Requests admitted before the reset learn of it, then the old
      // instance goes away; new ones already reach a fresh instance.
      if (auto rp = answerable(self_); rp.pending()) {
        rt_->metrics_->count_error(rt_->broken_);
        rp.deliver(rt_->broken_);
      }
      if (admitted)
        rt_->leave();
      rt_->quit_if_drained(self_);
      return caf::match_case::match;
    }
    rt_->touch();
    rt_->storage_.prune_committed();
    capturing_visitor result;
    caf::match_case::result matched;
    if (xs.match_elements<alarm_atom, int64_t, uint32_t, bool>())
      matched = run_alarm(result, xs);
    else
      matched = run(result, xs);
    // The slot is free before the reply leaves: a caller that answers the
    // reply with its next request must not find the object still full. A
    // skipped message comes back and leaves then.
    if (admitted && matched != caf::match_case::skip)
      rt_->leave();
    rt_->end_turn(self_, &result.reply);
    return matched;
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
      fail(f, e.what());
    } catch (...) {
      fail(f, "Durable Object threw a non-standard exception");
    }
    return caf::match_case::match;
  }

  caf::match_case::result run_alarm(caf::detail::invoke_result_visitor& f,
                                    caf::type_erased_tuple& xs) {
    try {
      auto reply = rt_->on_alarm(xs.get_as<int64_t>(1), xs.get_as<uint32_t>(2),
                                 xs.get_as<bool>(3));
      f(reply);
    } catch (const std::exception& e) {
      fail(f, e.what());
    } catch (...) {
      fail(f, "Durable Object alarm threw a non-standard exception");
    }
    return caf::match_case::match;
  }

  void fail(caf::detail::invoke_result_visitor& f, const char* what) {
    // A throwing handler's writes never happened.
    rt_->storage_.discard_turn();
    auto err = make_error(errc::exception_thrown, what);
    f(err);
  }

  pointer user_;
  object_runtime* rt_;
  caf::scheduled_actor* self_;
};

// -- object_runtime
// -------------------------------------------------------------

object_runtime::object_runtime(object_storage storage,
                               std::shared_ptr<storage_engine> engine,
                               queue_budget* budget,
                               object_metrics* metrics) noexcept
    : state_(0),
      budget_(budget),
      metrics_(metrics != nullptr ? metrics : &object_metrics::unbound()),
      last_active_(clock::now().time_since_epoch().count()),
      storage_(std::move(storage)),
      engine_(std::move(engine)) {
  // nop
}

object_runtime::~object_runtime() {
  // nop
}

object_runtime::admission object_runtime::admit(uint32_t max_queued) noexcept {
  // Never counts a message it refuses, not even for a moment: whoever reads
  // the count (closing, draining, an ending instance giving back slots)
  // sees only admitted messages.
  auto cur = state_.load(std::memory_order_acquire);
  bool slot = false;
  auto refuse = [&](admission why) {
    if (slot)
      budget_->give();
    return why;
  };
  for (;;) {
    if ((cur & closed_flag) != 0)
      return refuse(admission::closed);
    if ((cur & count_mask) >= max_queued)
      return refuse(admission::overloaded);
    if (!slot && budget_ != nullptr) {
      if (!budget_->take())
        return admission::node_overloaded;
      slot = true;
    }
    if (state_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) {
      metrics_->queued.add();
      return admission::admitted;
    }
  }
}

bool object_runtime::idle_at(clock::time_point now,
                             caf::timespan timeout) const noexcept {
  auto last = clock::time_point{
      clock::duration{last_active_.load(std::memory_order_relaxed)}};
  return now - last >= timeout;
}

void object_runtime::send_gated(std::function<void()> f) {
  if (storage_.turn_dirty() || gate_.closed(storage_.durable_seq()))
    gate_.send_in_turn(std::move(f));
  else
    f();
}

void object_runtime::reply_gated(caf::strong_actor_ptr self,
                                 caf::response_promise rp, caf::message msg) {
  if (!rp.pending())
    return;
  send_gated([self = std::move(self), rp = std::move(rp),
              msg = std::move(msg)]() mutable {
    held_output::respond(self, rp, std::move(msg));
  });
}

void object_runtime::end_turn(caf::scheduled_actor* self, turn_reply* reply) {
  using kind = turn_reply::kind;
  auto ws = storage_.end_turn();
  if (!ws.empty() && ws.needs_confirmation())
    gate_.raise(ws.seq());
  if (sync_requested_) {
    gate_.raise(storage_.last_sealed());
    sync_requested_ = false;
  }
  caf::response_promise rp;
  if (reply != nullptr && reply->what != kind::none)
    rp = answerable(self);
  auto replying = rp.pending();
  if ((!replying && !gate_.turn_sent()) ||
      !gate_.closed(storage_.durable_seq())) {
    // Nothing to hold: output leaves now, from this worker.
    gate_.release_turn();
    if (replying && reply->what == kind::failure) {
      metrics_->count_error(reply->err);
      rp.deliver(std::move(reply->err));
    } else if (replying && (!reply->msg.empty() || !rp.async()))
      rp.deliver(std::move(reply->msg));
    if (!ws.empty())
      engine_->submit(std::move(ws), nullptr);
    return;
  }
  // The writer releases the output right after the commit it waits for
  // (ordered after every earlier write set of this object).
  if (ws.empty())
    ws = storage_.barrier();
  auto out =
      gate_.hold_turn(caf::actor_cast<caf::strong_actor_ptr>(self), ws.seq());
  if (replying)
    out.set_reply(std::move(rp), std::move(reply->msg), std::move(reply->err));
  // The figures outlive the completion: `out` holds this object's actor, the
  // actor its namespace, which owns them.
  engine_->submit(std::move(ws), [out = std::move(out), metrics = metrics_,
                                  rt = this](const caf::error& err) mutable {
    if (err) {
      // Closed before anyone learns of the reset (`out` keeps this object
      // alive): a caller that sends again after the error must reach a
      // fresh instance, not this one before it handled the failure.
      rt->close();
      auto reset = reset_error(err);
      if (out.replies())
        metrics->count_error(reset);
      out.fail(reset);
    } else {
      if (auto* failure = out.reply_error())
        metrics->count_error(*failure);
      out.release();
    }
  });
}

bool object_runtime::may_evict() noexcept {
  storage_.prune_committed();
  return promises_.load(std::memory_order_relaxed) == 0 &&
         !storage_.has_pending() && !storage_.turn_dirty() &&
         !gate_.holding(storage_.durable_seq());
}

void object_runtime::leave() noexcept {
  // Saturating: a stray message that was never admitted must not wrap the
  // counter into the flags.
  auto cur = state_.load(std::memory_order_acquire);
  while ((cur & count_mask) != 0) {
    if (state_.compare_exchange_weak(cur, cur - 1, std::memory_order_acq_rel)) {
      if (budget_ != nullptr)
        budget_->give();
      metrics_->queued.sub();
      return;
    }
  }
}

void object_runtime::close_for_good() noexcept {
  auto prev = state_.exchange(closed_flag, std::memory_order_acq_rel);
  if ((prev & count_mask) != 0) {
    if (budget_ != nullptr)
      budget_->give(prev & count_mask);
    metrics_->queued.sub(prev & count_mask);
  }
}

void object_runtime::on_idle_check(caf::scheduled_actor* self,
                                   caf::timespan timeout) {
  state_.fetch_and(~check_flag, std::memory_order_acq_rel);
  if (!idle_at(clock::now(), timeout) || !may_evict())
    return;
  uint32_t expected = 0;
  if (state_.compare_exchange_strong(expected, closed_flag,
                                     std::memory_order_acq_rel)) {
    metrics_->evictions.inc();
    self->quit();
  }
}

void object_runtime::drain(caf::scheduled_actor* self, caf::error reason) {
  if (broken_)
    return;
  close();
  broken_ = std::move(reason);
  quit_if_drained(self);
}

void object_runtime::alarm(const alarm_info&) {
  // Objects without an alarm handler let alarms pass.
}

caf::message object_runtime::on_alarm(int64_t scheduled, uint32_t retry,
                                      bool drop) {
  auto current = storage_.get_alarm();
  if (!current)
    throw std::runtime_error(message_of(current.error()));
  // A changed or deleted alarm was handled by whoever changed it.
  if (!*current || **current != scheduled)
    return caf::make_message(false);
  if (auto err = storage_.delete_alarm())
    throw std::runtime_error(message_of(err));
  if (!drop)
    alarm(alarm_info{scheduled, retry});
  return caf::make_message(!drop);
}

void object_runtime::on_commit_failed(caf::scheduled_actor* self,
                                      const caf::error& err) {
  if (broken_)
    return;
  // The output gate is broken: nothing held may leave (the writer answers
  // held replies with the reset), callers learn that the object was reset,
  // and the next message recreates it from what is durable.
  storage_.failed(err);
  gate_.drop_turn();
  close();
  broken_ = reset_error(err);
  quit_if_drained(self);
}

void object_runtime::quit_if_drained(caf::scheduled_actor* self) {
  if (queued() == 0)
    self->quit(broken_);
}

caf::result<caf::message>
object_runtime::reject_unexpected(caf::scheduled_actor* self,
                                  caf::message_view&) {
  // Only requests learn that the message is not understood: an error sent
  // back for an asynchronous message (say, a reply nobody asked for) would
  // terminate its sender.
  if (!self->current_message_id().is_request()) {
    self->drop_current_message_id();
    return caf::message{};
  }
  auto err = make_error(errc::unsupported_message);
  if (auto* rt = dynamic_cast<object_runtime*>(self))
    rt->metrics_->count_error(err);
  return err;
}

caf::behavior object_runtime::guard(caf::behavior user,
                                    caf::scheduled_actor* self) {
  if (!user)
    return user;
  // The writer reports a failed commit once; the weak handle keeps the
  // storage (which the actor owns) from owning the actor.
  storage_.on_failure([weak = caf::actor_cast<caf::weak_actor_ptr>(self)](
                          const caf::error& err) {
    if (auto hdl = caf::actor_cast<caf::actor>(weak))
      caf::anon_send<caf::message_priority::high>(hdl, commit_atom::value, err);
  });
  caf::intrusive_ptr<caf::detail::behavior_impl> impl =
      caf::make_counted<guarded_behavior>(user.as_behavior_impl(), this, self);
  caf::behavior result;
  result.assign(std::move(impl));
  return result;
}

} // namespace durable
