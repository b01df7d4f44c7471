#include "deployment_metrics.hpp"

#include "durable/namespace_core.hpp"
#include "durable/storage_engine.hpp"

namespace durable {

namespace {

using counter_of = const metric_counter object_metrics::*;

/// One family with one sample per namespace.
template <class Value>
void per_namespace(metrics_text& out, const metrics_sources& src,
                   std::string_view name, metric_type type,
                   std::string_view help, Value value) {
  out.family(name, type, help);
  for (auto& [ns, core] : src.namespaces)
    out.sample(name, {{"namespace", ns}}, value(*core));
}

void counter_family(metrics_text& out, const metrics_sources& src,
                    std::string_view name, std::string_view help,
                    counter_of member) {
  per_namespace(out, src, name, metric_type::counter, help,
                [member](const namespace_core& core) {
                  return (core.metrics().*member).value();
                });
}

void write_namespaces(metrics_text& out, const metrics_sources& src) {
  per_namespace(out, src, "durable_live_objects", metric_type::gauge,
                "Object instances live on this node.",
                [](const namespace_core& core) {
                  return static_cast<uint64_t>(core.live_objects());
                });
  counter_family(out, src, "durable_activations_total",
                 "Object instances spawned (first message to an object "
                 "that was not live).",
                 &object_metrics::activations);
  counter_family(out, src, "durable_evictions_total",
                 "Object instances that went away because they were idle "
                 "(idle timeout, or too many live objects).",
                 &object_metrics::evictions);
  counter_family(out, src, "durable_requests_total",
                 "Messages routed to the namespace's objects on this node "
                 "(requests, one-way sends, alarm deliveries; refused ones "
                 "too).",
                 &object_metrics::requests);
  out.family("durable_request_errors_total", metric_type::counter,
             "Requests answered with an error, by kind (the durable::errc "
             "name; other: an error of another category).");
  for (auto& [ns, core] : src.namespaces) {
    auto& m = core->metrics();
    for (size_t i = 0; i < object_metrics::error_slots; ++i)
      out.sample("durable_request_errors_total",
                 {{"namespace", ns}, {"kind", object_metrics::error_kind(i)}},
                 m.errors[i].value());
  }
  out.family("durable_overload_rejections_total", metric_type::counter,
             "Messages refused as overloaded, by reason: object_queue "
             "(max-queued), node_queue (max-queued-total), live_objects "
             "(max-live-objects).");
  for (auto& [ns, core] : src.namespaces) {
    auto& m = core->metrics();
    for (size_t i = 0; i < overload_reason_count; ++i)
      out.sample("durable_overload_rejections_total",
                 {{"namespace", ns},
                  {"reason", to_string(static_cast<overload_reason>(i))}},
                 m.overloads[i].value());
  }
  per_namespace(
      out, src, "durable_queued_requests", metric_type::gauge,
      "Messages admitted to the namespace's objects and not "
      "handled yet (queue depth).",
      [](const namespace_core& core) { return core.metrics().queued.value(); });
  counter_family(out, src, "durable_alarms_due_total",
                 "Alarms delivered for the first time (they fell due).",
                 &object_metrics::alarms_due);
  counter_family(out, src, "durable_alarms_delivered_total",
                 "Alarm handlers that ran to completion.",
                 &object_metrics::alarms_delivered);
  counter_family(out, src, "durable_alarms_retried_total",
                 "Alarm deliveries retried after a failed handler.",
                 &object_metrics::alarms_retried);
  counter_family(out, src, "durable_alarms_failed_total",
                 "Alarm handlers that threw.", &object_metrics::alarms_failed);
  counter_family(out, src, "durable_alarms_dropped_total",
                 "Alarms deleted unrun after their last retry failed.",
                 &object_metrics::alarms_dropped);
}

void write_node(metrics_text& out, const node_limits& limits) {
  auto gauge = [&out](std::string_view name, std::string_view help,
                      uint64_t value) {
    out.family(name, metric_type::gauge, help);
    out.sample(name, {}, value);
  };
  gauge("durable_node_queued_requests",
        "Messages admitted to this node's objects and not handled yet.",
        limits.queued.used());
  gauge("durable_node_max_queued_requests",
        "The node's limit of queued messages (durable.max-queued-total).",
        limits.queued.limit());
  gauge("durable_node_live_objects", "Object instances live on this node.",
        limits.live_objects.load(std::memory_order_relaxed));
  gauge("durable_node_max_live_objects",
        "The node's limit of live objects (durable.max-live-objects).",
        limits.max_live_objects);
}

void write_environments(metrics_text& out, const storage_engine& engine) {
  auto writers = engine.open_writers();
  auto env = [](const commit_writer* w) { return storage_name(w->which()); };
  out.family("durable_commit_write_sets", metric_type::histogram,
             "Write sets (object turns) per committed LMDB transaction "
             "(group commit).");
  for (auto* w : writers)
    out.histogram("durable_commit_write_sets", {{"jurisdiction", env(w)}},
                  w->metrics().write_sets);
  out.family("durable_commit_seconds", metric_type::histogram,
             "Time of a commit, from the transaction's begin to durable "
             "(applying the write sets, page writes, syncs).");
  for (auto* w : writers)
    out.histogram("durable_commit_seconds", {{"jurisdiction", env(w)}},
                  w->metrics().commit_ns, 1e-9);
  out.family("durable_fsync_seconds", metric_type::histogram,
             "Time in LMDB's mdb_txn_commit: writing the dirty pages, "
             "fdatasync and the synchronous meta page write.");
  for (auto* w : writers)
    out.histogram("durable_fsync_seconds", {{"jurisdiction", env(w)}},
                  w->metrics().sync_ns, 1e-9);
  auto per_env = [&](std::string_view name, metric_type type,
                     std::string_view help, auto value) {
    out.family(name, type, help);
    for (auto* w : writers)
      out.sample(name, {{"jurisdiction", env(w)}},
                 static_cast<uint64_t>(value(*w)));
  };
  per_env("durable_map_size_bytes", metric_type::gauge,
          "The LMDB map size (grows on demand up to the maximum).",
          [](const commit_writer& w) { return w.map_size(); });
  per_env("durable_map_max_size_bytes", metric_type::gauge,
          "The largest the map may grow to (durable.max-map-size).",
          [](const commit_writer& w) { return w.max_map_size(); });
  per_env("durable_map_used_bytes", metric_type::gauge,
          "Bytes of the map up to its last used page (free pages below it "
          "included: LMDB reuses them).",
          [](const commit_writer& w) {
            return w.metrics().map_used_bytes.load(std::memory_order_relaxed);
          });
  per_env("durable_write_sets_committed_total", metric_type::counter,
          "Write sets committed.",
          [](const commit_writer& w) { return w.stats().write_sets; });
  per_env("durable_write_sets_failed_total", metric_type::counter,
          "Write sets whose commit failed (their objects were reset).",
          [](const commit_writer& w) { return w.stats().failed_write_sets; });
  per_env("durable_map_growths_total", metric_type::counter,
          "Times the map grew.",
          [](const commit_writer& w) { return w.stats().map_growths; });
}

} // namespace

void write_deployment_metrics(metrics_text& out, const metrics_sources& src) {
  write_namespaces(out, src);
  if (src.limits)
    write_node(out, *src.limits);
  if (src.engine)
    write_environments(out, *src.engine);
}

} // namespace durable
