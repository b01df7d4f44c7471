#include "durable/commit_writer.hpp"

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "alarm_store.hpp"
#include "durable/errc.hpp"
#include "kv_codec.hpp"
#include "lmdb_env.hpp"
#include "write_set_data.hpp"

namespace durable {

namespace {

using detail::write_set_data;

struct item {
  std::shared_ptr<const write_set_data> ws; // null: a barrier
  commit_writer::completion done;
  bool poisoned = false;

  bool has_writes() const noexcept { return ws && ws->has_writes(); }
};

// Runs the completion, then records the outcome in the write chain: a
// durable sequence number only after the completion ran, so that an object
// seeing it knows all output handed over with earlier write sets left.
void complete(item& x, const caf::error& err) noexcept {
  try {
    if (x.done)
      x.done(err);
  } catch (...) {
    // A throwing completion must not take the writer down with it.
  }
  x.done = nullptr;
  if (auto* chain = x.ws ? x.ws->chain.get() : nullptr) {
    if (!err) {
      chain->durable.store(x.ws->seq, std::memory_order_release);
    } else if (!chain->notified.exchange(true, std::memory_order_acq_rel) &&
               chain->on_failure) {
      try {
        chain->on_failure(err);
      } catch (...) {
        // As above.
      }
    }
  }
  x.ws.reset();
}

caf::error poisoned_error() {
  return make_error(errc::object_reset,
                    "an earlier commit of this object failed; its later "
                    "writes are discarded");
}

} // namespace

// -- impl ---------------------------------------------------------------------

struct commit_writer::impl {
  std::shared_ptr<detail::environment> env;
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<item> queue;
  bool stopping = false;
  std::thread thread;
  std::thread::id thread_id;
  std::string scratch;
  std::atomic<uint64_t> transactions{0};
  std::atomic<uint64_t> write_sets{0};
  std::atomic<uint64_t> failed_write_sets{0};
  std::atomic<uint64_t> isolated_rounds{0};
  std::atomic<uint64_t> map_growths{0};

  void run() {
    std::vector<item> batch;
    for (;;) {
      {
        std::unique_lock<std::mutex> guard{mtx};
        cv.wait(guard, [this] { return !queue.empty() || stopping; });
        if (queue.empty())
          return;
        batch.swap(queue);
      }
      // Bound the size of one transaction: a huge backlog could otherwise
      // exceed LMDB's dirty page limit (MDB_TXN_FULL).
      auto first = batch.begin();
      while (first != batch.end()) {
        size_t bytes = 0;
        auto last = first;
        do {
          bytes += last->ws ? last->ws->byte_size : 0;
          ++last;
        } while (last != batch.end() && bytes < env->max_batch_bytes());
        round(&*first, &*first + (last - first));
        first = last;
      }
      batch.clear();
    }
  }

  // Commits [first, last) as one group, falling back to one transaction per
  // write set if the group fails.
  void round(item* first, item* last) {
    bool work = false;
    for (auto* x = first; x != last; ++x) {
      x->poisoned = x->ws && x->ws->chain &&
                    x->ws->chain->failed.load(std::memory_order_acquire);
      work = work || (!x->poisoned && x->has_writes());
    }
    if (!work || !commit(first, last)) {
      for (auto* x = first; x != last; ++x) {
        if (x->poisoned) {
          ++failed_write_sets;
          complete(*x, poisoned_error());
        } else {
          if (x->has_writes())
            ++write_sets;
          complete(*x, caf::none);
        }
      }
      return;
    }
    ++isolated_rounds;
    for (auto* x = first; x != last; ++x) {
      // Barriers of a chain that failed earlier in this round fail too.
      x->poisoned = x->ws && x->ws->chain &&
                    x->ws->chain->failed.load(std::memory_order_acquire);
      if (!x->poisoned && !x->has_writes()) {
        complete(*x, caf::none);
        continue;
      }
      if (x->poisoned) {
        ++failed_write_sets;
        complete(*x, poisoned_error());
        continue;
      }
      if (auto err = commit(x, x + 1)) {
        if (x->ws->chain)
          x->ws->chain->failed.store(true, std::memory_order_release);
        ++failed_write_sets;
        complete(*x, err);
      } else {
        ++write_sets;
        complete(*x, caf::none);
      }
    }
  }

  // Applies [first, last) in one write transaction and commits it, growing
  // the map on MDB_MAP_FULL and retrying until the maximum size.
  caf::error commit(item* first, item* last) {
    for (;;) {
      MDB_txn* txn = nullptr;
      if (auto rc = mdb_txn_begin(env->handle(), nullptr, 0, &txn))
        return env->error("mdb_txn_begin", rc);
      const char* op = "write";
      int rc = 0;
      for (auto* x = first; x != last && rc == 0; ++x)
        if (!x->poisoned && x->has_writes())
          rc = apply(txn, *x->ws);
      if (rc == 0) {
        op = "mdb_txn_commit";
        rc = mdb_txn_commit(txn);
      } else {
        mdb_txn_abort(txn);
      }
      if (rc == 0) {
        ++transactions;
        return caf::none;
      }
      if (rc == MDB_MAP_FULL) {
        auto grown = env->grow();
        if (!grown)
          return std::move(grown.error());
        if (*grown) {
          ++map_growths;
          continue;
        }
      }
      return env->error(op, rc);
    }
  }

  int apply(MDB_txn* txn, const write_set_data& ws) {
    detail::alarm_dbs alarms{env->alarms(), env->alarm_index()};
    if (ws.clear_all) {
      if (auto rc = detail::kv_clear(txn, env->kv(), ws.base))
        return rc;
      if (auto rc = detail::alarm_del(txn, alarms, ws.base))
        return rc;
    }
    for (auto& [key, value] : ws.ops) {
      auto rc =
          value ? detail::kv_put(txn, env->kv(), ws.base, key, *value, scratch)
                : detail::kv_del(txn, env->kv(), ws.base, key, scratch);
      if (rc != 0)
        return rc;
    }
    switch (ws.alarm.what) {
    case detail::alarm_op::kind::none:
      break;
    case detail::alarm_op::kind::set:
      if (auto rc = detail::alarm_set(txn, alarms, ws.base, ws.alarm.time))
        return rc;
      break;
    case detail::alarm_op::kind::remove:
      if (auto rc = detail::alarm_del(txn, alarms, ws.base))
        return rc;
      break;
    }
    for (auto& [key, value] : ws.meta_puts) {
      MDB_val k{key.size(), const_cast<char*>(key.data())};
      MDB_val v{value.size(), const_cast<char*>(value.data())};
      if (auto rc = mdb_put(txn, env->meta(), &k, &v, 0))
        return rc;
    }
    if (ws.custom)
      return ws.custom(txn);
    return 0;
  }
};

// -- constructors, destructors, and assignment operators ----------------------

commit_writer::commit_writer(std::shared_ptr<detail::environment> env)
    : impl_(std::make_shared<impl>()) {
  impl_->env = std::move(env);
  // The thread shares the state: when the writer is destroyed from its own
  // thread (a completion dropped the last reference to its owner), the
  // thread is detached and finishes with the state it still holds.
  impl_->thread = std::thread{[state = impl_] { state->run(); }};
  impl_->thread_id = impl_->thread.get_id();
}

commit_writer::~commit_writer() {
  stop();
}

// -- properties ---------------------------------------------------------------

jurisdiction commit_writer::which() const noexcept {
  return impl_->env->which();
}

commit_writer::statistics commit_writer::stats() const noexcept {
  statistics result;
  result.transactions = impl_->transactions.load();
  result.write_sets = impl_->write_sets.load();
  result.failed_write_sets = impl_->failed_write_sets.load();
  result.isolated_rounds = impl_->isolated_rounds.load();
  result.map_growths = impl_->map_growths.load();
  return result;
}

// -- writing ------------------------------------------------------------------

void commit_writer::submit(write_set ws, completion done) {
  item x{ws.data(), std::move(done)};
  if (x.ws && x.ws->env != impl_->env) {
    complete(x, make_error(errc::invalid_argument,
                           "write set submitted to the commit writer of "
                           "another environment"));
    return;
  }
  {
    std::unique_lock<std::mutex> guard{impl_->mtx};
    if (!impl_->stopping) {
      impl_->queue.push_back(std::move(x));
      guard.unlock();
      impl_->cv.notify_one();
      return;
    }
  }
  std::string text = "the commit writer of environment \"";
  text += impl_->env->name();
  text += "\" is shut down";
  complete(x, make_error(errc::unavailable, std::move(text)));
}

void commit_writer::refuse(write_set ws, completion done,
                           const caf::error& err) {
  item x{ws.data(), std::move(done)};
  complete(x, err);
}

caf::error commit_writer::flush() {
  if (std::this_thread::get_id() == impl_->thread_id)
    return make_error(errc::invalid_argument,
                      "flush() called on the commit writer thread");
  std::promise<caf::error> done;
  auto result = done.get_future();
  submit(write_set{}, [&done](const caf::error& err) { done.set_value(err); });
  return result.get();
}

void commit_writer::stop() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->stopping = true;
  }
  impl_->cv.notify_one();
  if (!impl_->thread.joinable())
    return;
  // From a completion (the writer thread itself) the thread cannot be
  // joined: it drains the queue and ends on its own, owning the state.
  if (std::this_thread::get_id() == impl_->thread_id)
    impl_->thread.detach();
  else
    impl_->thread.join();
}

} // namespace durable
