#include "write_apply.hpp"

#include "alarm_store.hpp"
#include "clear_marker.hpp"
#include "lmdb_env.hpp"
#include "write_set_data.hpp"

namespace durable::detail {

namespace {

// Deletes the next chunk of `ws`'s delete_all. Leaves `out` at `applied`
// once the object is empty and the rest of the write set is to be applied.
int delete_chunk(MDB_txn* txn, environment& env, apply_context& ctx,
                 const write_set_data& ws, bool deleting, apply_step& out) {
  auto& base = ws.base;
  size_t removed = 0;
  bool done = false;
  if (auto rc = kv_clear_some(txn, env.kv(), base, ctx.budget, removed, done))
    return rc;
  ctx.budget -= removed;
  alarm_dbs alarms{env.alarms(), env.alarm_index()};
  if (!done) {
    ctx.chunked = true;
    if (deleting) {
      out = apply_step::progressed;
      return 0;
    }
    // Too large for one round: from this commit on the object reads as
    // empty, and its alarm is gone at once.
    if (auto rc = put_clear_marker(txn, env.meta(), base))
      return rc;
    ctx.started.insert(base);
    out = apply_step::started;
    return alarm_del(txn, alarms, base);
  }
  if (deleting) {
    ctx.chunked = true;
    out = apply_step::finished;
    if (auto rc = del_clear_marker(txn, env.meta(), base))
      return rc;
  }
  return alarm_del(txn, alarms, base);
}

} // namespace

int apply_write_set(MDB_txn* txn, environment& env, apply_context& ctx,
                    const write_set_data& ws, bool deleting, apply_step& out) {
  alarm_dbs alarms{env.alarms(), env.alarm_index()};
  if (ws.clear_all) {
    if (auto rc = delete_chunk(txn, env, ctx, ws, deleting, out))
      return rc;
    // The writes after the delete_all wait for its last chunk.
    if (out == apply_step::started || out == apply_step::progressed)
      return 0;
  }
  for (auto& [key, value] : ws.ops) {
    auto rc = value ? kv_put(txn, env.kv(), ws.base, key, *value, ctx.scratch)
                    : kv_del(txn, env.kv(), ws.base, key, ctx.scratch);
    if (rc != 0)
      return rc;
  }
  switch (ws.alarm.what) {
  case alarm_op::kind::none:
    break;
  case alarm_op::kind::set:
    if (auto rc = alarm_set(txn, alarms, ws.base, ws.alarm.time))
      return rc;
    break;
  case alarm_op::kind::remove:
    if (auto rc = alarm_del(txn, alarms, ws.base))
      return rc;
    break;
  }
  for (auto& [key, value] : ws.meta_puts) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{value.size(), const_cast<char*>(value.data())};
    if (auto rc = mdb_put(txn, env.meta(), &k, &v, 0))
      return rc;
  }
  if (ws.custom)
    return ws.custom(txn);
  return 0;
}

} // namespace durable::detail
