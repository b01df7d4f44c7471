#include "durable/commit_writer.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <iterator>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "clear_marker.hpp"
#include "durable/errc.hpp"
#include "lmdb_env.hpp"
#include "write_apply.hpp"
#include "write_set_data.hpp"

namespace durable {

namespace {

using detail::write_set_data;

using step = detail::apply_step;

struct item {
  std::shared_ptr<const write_set_data> ws; // null: a barrier
  commit_writer::completion done;
  bool poisoned = false;
  /// A delete_all whose marker is committed: deleted chunk by chunk.
  bool deleting = false;
  step outcome = step::applied;

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

caf::error poisoned_error(const write_set_data& ws) {
  std::string text = "an earlier commit of this object failed";
  if (ws.chain && ws.chain->cause) {
    text += " (";
    text += message_of(ws.chain->cause);
    text += ')';
  }
  text += "; its later writes are discarded";
  // A full map stays a full map: retrying would not help either.
  auto code = ws.chain && is_storage_full(ws.chain->cause) ? errc::storage_full
                                                           : errc::object_reset;
  return make_error(code, std::move(text));
}

caf::error shut_down_error(const detail::environment& env) {
  std::string text = "the commit writer of environment \"";
  text += env.name();
  text += "\" is shut down";
  return make_error(errc::unavailable, std::move(text));
}

/// A deletion without an object waiting for it: resumed after a restart, or
/// finished after the object's own write set failed.
item orphan_deletion(std::shared_ptr<detail::environment> env,
                     const detail::base_key& base) {
  auto data = std::make_shared<write_set_data>();
  data->env = std::move(env);
  data->base = base;
  data->clear_all = true;
  item result{std::move(data), nullptr};
  result.deleting = true;
  return result;
}

} // namespace

// -- impl ---------------------------------------------------------------------

struct commit_writer::impl {
  std::shared_ptr<detail::environment> env;
  size_t delete_chunk = 10000;
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<item> queue;
  bool stopping = false;
  std::thread thread;
  std::thread::id thread_id;
  // Writer thread only: deletions under way, write sets waiting for them,
  // and write sets whose wait ended (they go first in the next round).
  std::vector<item> jobs;
  std::vector<item> parked;
  std::vector<item> released;
  detail::apply_context ctx;
  std::atomic<uint64_t> transactions{0};
  std::atomic<uint64_t> write_sets{0};
  std::atomic<uint64_t> failed_write_sets{0};
  std::atomic<uint64_t> isolated_rounds{0};
  std::atomic<uint64_t> map_growths{0};
  std::atomic<uint64_t> delete_rounds{0};
  std::atomic<uint64_t> longest_us{0};
  commit_metrics figures;
  /// LMDB's page size (for the map use), read when the thread starts.
  uint64_t page_size = 0;

  void run() {
    note_map_use();
    std::vector<item> batch;
    for (;;) {
      std::vector<item> incoming;
      bool stop_now = false;
      {
        std::unique_lock<std::mutex> guard{mtx};
        cv.wait(guard, [this] {
          return !queue.empty() || stopping || !jobs.empty() ||
                 !released.empty();
        });
        incoming.swap(queue);
        stop_now = stopping;
      }
      if (stop_now)
        abandon();
      if (incoming.empty() && released.empty() && jobs.empty())
        return; // only reached when stopping
      // Deletions under way first (they take the round's delete budget in
      // turns), then write sets whose wait ended, then new ones.
      bool deleting = !jobs.empty();
      if (jobs.size() > 1)
        std::rotate(jobs.begin(), jobs.begin() + 1, jobs.end());
      batch.clear();
      for (auto& x : jobs)
        batch.push_back(std::move(x));
      jobs.clear();
      auto waited = std::move(released);
      released.clear();
      for (auto* xs : {&waited, &incoming})
        for (auto& x : *xs)
          classify(std::move(x), deleting, stop_now, batch);
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
      // A flush completes after every deletion submitted before it.
      if (jobs.empty())
        release([](const item& x) { return !x.ws; });
    }
  }

  // Puts `x` into this round, or parks it behind a deletion of its object.
  void classify(item x, bool deleting, bool stop_now, std::vector<item>& out) {
    bool blocked =
        x.ws ? env->clearing().contains(x.ws->base) : deleting && !stop_now;
    if (!blocked) {
      out.push_back(std::move(x));
    } else if (stop_now) {
      ++failed_write_sets;
      complete(x, shut_down_error(*env));
    } else {
      parked.push_back(std::move(x));
    }
  }

  // Moves the parked items matching `pred` to `released`, keeping order.
  template <class Pred>
  void release(Pred pred) {
    auto i = std::stable_partition(parked.begin(), parked.end(),
                                   [&](const item& x) { return !pred(x); });
    std::move(i, parked.end(), std::back_inserter(released));
    parked.erase(i, parked.end());
  }

  // On stop: deletions under way end here (their markers stay, so they
  // resume at the next start) and so do the write sets waiting for them.
  void abandon() {
    auto err = shut_down_error(*env);
    for (auto* xs : {&jobs, &parked}) {
      for (auto& x : *xs) {
        if (x.ws) {
          ++failed_write_sets;
          if (x.ws->chain)
            x.ws->chain->failed.store(true, std::memory_order_release);
        }
        complete(x, err);
      }
      xs->clear();
    }
  }

  // Returns whether `x` must wait for a delete_all started in this round.
  bool defer(const item& x) const {
    if (ctx.started.empty())
      return false;
    return !x.ws || ctx.started.count(x.ws->base) != 0;
  }

  // Commits [first, last) as one group, falling back to one transaction per
  // write set if the group fails.
  void round(item* first, item* last) {
    bool work = false;
    for (auto* x = first; x != last; ++x) {
      x->poisoned = !x->deleting && x->ws && x->ws->chain &&
                    x->ws->chain->failed.load(std::memory_order_acquire);
      x->outcome = step::applied;
      work = work || (!x->poisoned && x->has_writes());
    }
    ctx.started.clear();
    if (!work || !commit(first, last)) {
      for (auto* x = first; x != last; ++x)
        settle(*x);
      return;
    }
    ++isolated_rounds;
    ctx.started.clear();
    for (auto* x = first; x != last; ++x) {
      // Barriers of a chain that failed earlier in this round fail too.
      x->poisoned = !x->deleting && x->ws && x->ws->chain &&
                    x->ws->chain->failed.load(std::memory_order_acquire);
      x->outcome = defer(*x) ? step::deferred : step::applied;
      if (x->poisoned || x->outcome == step::deferred || !x->has_writes()) {
        settle(*x);
      } else if (auto err = commit(x, x + 1)) {
        fail(*x, err);
      } else {
        settle(*x);
      }
    }
  }

  // Completes, parks or keeps `x` after its round committed.
  void settle(item& x) {
    if (x.poisoned) {
      ++failed_write_sets;
      complete(x, poisoned_error(*x.ws));
      return;
    }
    switch (x.outcome) {
    case step::deferred:
      parked.push_back(std::move(x));
      return;
    case step::started:
      x.deleting = true;
      env->clearing().insert(x.ws->base);
      jobs.push_back(std::move(x));
      return;
    case step::progressed:
      jobs.push_back(std::move(x));
      return;
    case step::finished: {
      auto base = x.ws->base;
      env->clearing().erase(base);
      release([&](const item& y) { return y.ws && y.ws->base == base; });
      break;
    }
    case step::applied:
      break;
    }
    if (x.has_writes())
      ++write_sets;
    complete(x, caf::none);
  }

  void fail(item& x, const caf::error& err) {
    if (auto& chain = x.ws->chain) {
      if (!chain->cause)
        chain->cause = err;
      chain->failed.store(true, std::memory_order_release);
    }
    ++failed_write_sets;
    // The marker is durable: the deletion goes on without the object, which
    // reads its (new instance's) storage as empty meanwhile.
    if (x.deleting)
      jobs.push_back(orphan_deletion(env, x.ws->base));
    complete(x, err);
  }

  // Applies [first, last) in one write transaction and commits it, growing
  // the map on MDB_MAP_FULL and retrying until the maximum size.
  caf::error commit(item* first, item* last) {
    auto started_before = ctx.started;
    for (;;) {
      ctx.started = started_before;
      ctx.budget = delete_chunk;
      ctx.chunked = false;
      auto begin = std::chrono::steady_clock::now();
      MDB_txn* txn = nullptr;
      if (auto rc = mdb_txn_begin(env->handle(), nullptr, 0, &txn))
        return env->error("mdb_txn_begin", rc);
      const char* op = "write";
      int rc = 0;
      uint64_t applied = 0;
      for (auto* x = first; x != last && rc == 0; ++x) {
        if (x->poisoned)
          continue;
        if (defer(*x)) {
          x->outcome = step::deferred;
        } else if (x->has_writes()) {
          rc = detail::apply_write_set(txn, *env, ctx, *x->ws, x->deleting,
                                       x->outcome);
          ++applied;
        }
      }
      auto sync_begin = std::chrono::steady_clock::now();
      if (rc == 0) {
        op = "mdb_txn_commit";
        rc = mdb_txn_commit(txn);
      } else {
        mdb_txn_abort(txn);
      }
      if (rc == 0) {
        auto end = std::chrono::steady_clock::now();
        ++transactions;
        if (ctx.chunked)
          ++delete_rounds;
        note_duration(end - begin);
        figures.write_sets.observe(applied);
        figures.commit_ns.observe(nanoseconds(end - begin));
        figures.sync_ns.observe(nanoseconds(end - sync_begin));
        note_map_use();
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

  static uint64_t nanoseconds(std::chrono::steady_clock::duration d) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return ns > 0 ? static_cast<uint64_t>(ns) : 0;
  }

  // Writer thread only (no other thread changes the map meanwhile).
  void note_map_use() {
    if (page_size == 0) {
      MDB_stat st;
      if (mdb_env_stat(env->handle(), &st) != 0)
        return;
      page_size = st.ms_psize;
    }
    MDB_envinfo info;
    if (mdb_env_info(env->handle(), &info) == 0)
      figures.map_used_bytes.store((info.me_last_pgno + 1) * page_size,
                                   std::memory_order_relaxed);
  }

  void note_duration(std::chrono::steady_clock::duration d) {
    auto us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    if (us > longest_us.load(std::memory_order_relaxed))
      longest_us.store(us, std::memory_order_relaxed);
  }
};

// -- constructors, destructors, and assignment operators ----------------------

commit_writer::commit_writer(std::shared_ptr<detail::environment> env,
                             size_t delete_chunk_keys)
    : impl_(std::make_shared<impl>()) {
  impl_->env = std::move(env);
  impl_->delete_chunk = std::max(delete_chunk_keys, size_t{1});
  // Deletions a crash or a stop interrupted (see storage_engine::open).
  for (auto& base : impl_->env->clearing().snapshot())
    impl_->jobs.push_back(orphan_deletion(impl_->env, base));
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
  result.delete_rounds = impl_->delete_rounds.load();
  result.longest_transaction_us = impl_->longest_us.load();
  return result;
}

const commit_metrics& commit_writer::metrics() const noexcept {
  return impl_->figures;
}

size_t commit_writer::map_size() const noexcept {
  return impl_->env->map_size();
}

size_t commit_writer::max_map_size() const noexcept {
  return impl_->env->max_map_size();
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
  complete(x, shut_down_error(*impl_->env));
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
