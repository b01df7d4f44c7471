// durable-admin: looking at stored data (object show, stats).

#include <algorithm>
#include <iostream>
#include <map>

#include "cli.hpp"
#include "durable/errc.hpp"
#include "durable/hex.hpp"
#include "durable/id_factory.hpp"
#include "durable/namespace_registry.hpp"
#include "json_output.hpp"

namespace admin {

using durable::namespace_registry;
using durable::namespace_usage;

namespace {

constexpr int64_t default_limit = 100;

constexpr int64_t default_max_value = 64;

constexpr int64_t max_limit = 1'000'000;

// Values are never larger.
constexpr auto max_max_value =
    static_cast<int64_t>(durable::storage_limits::max_value_size);

// Resolves the object argument: an ID (64 hex digits) unless `by_name`.
caf::expected<durable::object_id> resolve_object(const options& opts,
                                                 const durable::id_factory& ids,
                                                 const std::string& arg) {
  durable::object_id::bytes_type bytes;
  if (!opts.by_name && durable::parse_hex_id(arg, bytes)) {
    if (opts.jurisdiction)
      return durable::make_error(durable::errc::invalid_argument,
                                 "--jurisdiction applies to names only: an "
                                 "ID carries its jurisdiction");
    auto id = ids.from_string(arg);
    if (!id)
      return durable::make_error(
          durable::errc::wrong_namespace,
          durable::message_of(id.error()) +
              " (pass --name to look up an object named like this)");
    return id;
  }
  auto j = durable::jurisdiction::none;
  if (opts.jurisdiction) {
    auto parsed = durable::parse_jurisdiction(*opts.jurisdiction);
    if (!parsed)
      return std::move(parsed.error());
    j = *parsed;
  }
  return ids.from_name(arg, j);
}

/// Adds the counts of `u` to `out`.
void put_usage(json& out, const namespace_usage& u) {
  out["objects"] = u.objects;
  out["keys"] = u.keys;
  out["bytes"] = u.bytes;
  out["alarms"] = u.alarms;
}

json usage_json(const namespace_usage& u) {
  auto out = json::object();
  put_usage(out, u);
  return out;
}

void add(namespace_usage& x, const namespace_usage& y) {
  x.objects += y.objects;
  x.keys += y.keys;
  x.bytes += y.bytes;
  x.alarms += y.alarms;
}

} // namespace

// -- object show --------------------------------------------------------------

int object_show(const options& opts) {
  auto limit = opts.limit.value_or(default_limit);
  auto max_value = opts.max_value.value_or(default_max_value);
  // Bounded: the tool holds what it shows in memory (and limit + 1 must
  // not overflow).
  if (limit < 1 || limit > max_limit || max_value < 0 ||
      max_value > max_max_value)
    return fail("--limit must be between 1 and " + std::to_string(max_limit) +
                    ", --max-value between 0 and " +
                    std::to_string(max_max_value),
                exit_usage);
  auto ns = open_namespace(opts);
  if (!ns)
    return fail(ns.error());
  auto& engine = ns->engine;
  auto& rec = ns->record;
  auto& ids = ns->ids;
  auto id = resolve_object(opts, ids, opts.args[1]);
  if (!id)
    return fail(id.error());
  auto j = id->jurisdiction();
  auto number = engine->find_namespace_number(j, rec.id);
  if (!number)
    return fail(number.error());
  std::vector<std::pair<std::string, std::string>> entries;
  std::optional<int64_t> alarm;
  bool more = false;
  if (*number) {
    auto st = engine->open_object(j, **number, id->bytes());
    if (!st)
      return fail(st.error());
    durable::list_options lopts;
    lopts.limit = limit + 1;
    auto listed = st->list(lopts);
    if (!listed)
      return fail(listed.error());
    entries = std::move(*listed);
    more = entries.size() > static_cast<size_t>(limit);
    if (more)
      entries.resize(static_cast<size_t>(limit));
    auto a = st->get_alarm();
    if (!a)
      return fail(a.error());
    alarm = *a;
  }
  auto env = std::string{durable::storage_name(j)};
  auto name = id->name().empty() ? std::string{} : id->name();
  auto max = static_cast<size_t>(max_value);
  if (opts.json) {
    auto keys = json::array();
    for (auto& [k, v] : entries) {
      bool kt = false, vt = false;
      keys.push_back(
          {{"key", display(k, durable::storage_limits::max_key_size, kt)},
           {"key_hex", durable::to_hex(k)},
           {"key_size", k.size()},
           {"value", display(v, max, vt)},
           {"value_size", v.size()},
           {"value_truncated", vt},
           {"value_hex", durable::to_hex(v.substr(0, max))}});
    }
    json out{{"namespace", rec.name},
             {"id", id->to_string()},
             {"name", name.empty() ? json{} : json(name)},
             {"jurisdiction", env},
             {"keys", std::move(keys)},
             {"keys_truncated", more}};
    out["alarm"] =
        alarm ? json{{"time_ms", *alarm}, {"time", iso_time(*alarm)}} : json{};
    std::cout << to_text(out) << '\n';
    return exit_ok;
  }
  std::cout << "object " << id->to_string() << '\n'
            << "  namespace    " << rec.name << '\n'
            << "  name         " << (name.empty() ? "(unknown)" : name) << '\n'
            << "  jurisdiction " << env << '\n'
            << "  alarm        "
            << (alarm
                    ? iso_time(*alarm) + " (" + std::to_string(*alarm) + " ms)"
                    : std::string{"none"})
            << '\n';
  if (entries.empty()) {
    std::cout << "  no stored keys\n";
    return exit_ok;
  }
  std::cout << "  keys"
            << (more ? " (first " + std::to_string(limit) + ")" : "") << ":\n";
  for (auto& [k, v] : entries) {
    bool kt = false, vt = false;
    auto kd = display(k, 120, kt);
    auto vd = display(v, max, vt);
    std::cout << "    \"" << kd << (kt ? "\"..." : "\"") << "  " << v.size()
              << " bytes  \"" << vd << (vt ? "\"..." : "\"") << '\n';
  }
  return exit_ok;
}

// -- stats --------------------------------------------------------------------

int stats(const options& opts) {
  auto engine = open_engine(opts, false);
  if (!engine)
    return fail(engine.error());
  auto records = namespace_registry{*engine}.all();
  if (!records)
    return fail(records.error());
  std::map<std::string, std::string> names; // ID -> name
  for (auto& rec : *records)
    names.emplace(rec.id, rec.name);
  struct row {
    std::string env;
    std::string name; // empty: not in the registry
    std::string key;
    namespace_usage usage;
  };
  std::vector<row> rows;
  std::map<std::string, namespace_usage> per_env;
  namespace_usage total;
  for (auto j : (*engine)->existing_jurisdictions()) {
    auto env = std::string{durable::storage_name(j)};
    auto numbers = (*engine)->namespace_numbers(j);
    if (!numbers)
      return fail(numbers.error());
    auto usage = (*engine)->usage(j);
    if (!usage)
      return fail(usage.error());
    per_env[env]; // every existing environment is listed
    for (auto& u : *usage) {
      row r{env, {}, {}, u};
      for (auto& [key, nr] : *numbers)
        if (nr == u.namespace_number)
          r.key = key;
      if (auto i = names.find(r.key); i != names.end())
        r.name = i->second;
      add(per_env[env], u);
      add(total, u);
      rows.push_back(std::move(r));
    }
  }
  if (opts.json) {
    auto envs = json::array();
    for (auto& [env, sum] : per_env) {
      auto namespaces = json::array();
      for (auto& r : rows) {
        if (r.env != env)
          continue;
        json item{{"name", r.name.empty() ? json{} : json(r.name)},
                  {"key", r.key},
                  {"number", r.usage.namespace_number}};
        put_usage(item, r.usage);
        namespaces.push_back(std::move(item));
      }
      envs.push_back({{"jurisdiction", env},
                      {"namespaces", std::move(namespaces)},
                      {"total", usage_json(sum)}});
    }
    std::cout << to_text({{"jurisdictions", std::move(envs)},
                          {"total", usage_json(total)}})
              << '\n';
    return exit_ok;
  }
  size_t name_w = 9;
  for (auto& r : rows)
    name_w =
        std::max(name_w, r.name.empty() ? r.key.size() + 2 : r.name.size());
  auto line = [&](const std::string& env, const std::string& name,
                  const namespace_usage& u) {
    std::cout << pad(env, 14) << pad(name, name_w + 2)
              << pad(std::to_string(u.objects), 10)
              << pad(std::to_string(u.keys), 10)
              << pad(std::to_string(u.bytes), 14) << u.alarms << '\n';
  };
  std::cout << pad("JURISDICTION", 14) << pad("NAMESPACE", name_w + 2)
            << pad("OBJECTS", 10) << pad("KEYS", 10) << pad("BYTES", 14)
            << "ALARMS\n";
  for (auto& r : rows) {
    bool cut = false;
    line(r.env, r.name.empty() ? "[" + display(r.key, 64, cut) + "]" : r.name,
         r.usage);
  }
  line("total", "", total);
  return exit_ok;
}

} // namespace admin
