// Applying migrations to the namespace registry: validate the whole list on
// a simulated registry, then commit migration by migration.

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <openssl/rand.h>

#include "durable/errc.hpp"
#include "durable/hex.hpp"
#include "durable/namespace_registry.hpp"
#include "registry_format.hpp"

namespace durable {

namespace {

struct step {
  enum kind { rename, remove, create };
  kind what;
  std::string name;       // rename: from; remove, create: the class
  namespace_record after; // rename: the renamed record; create: the new one
  std::string id;         // rename, remove: the record's ID
};

struct migration_plan {
  size_t index = 0; // of the migration in the list
  std::string tag;
  std::vector<step> steps;
  std::vector<namespace_record> deleted;
};

caf::error invalid(const std::string& tag, const std::string& what) {
  return make_error(errc::invalid_argument,
                    "migration \"" + tag + "\": " + what);
}

std::string in_quotes(std::string_view x) {
  std::string out = "\"";
  out += x;
  out += '"';
  return out;
}

void add(namespace_usage& x, const namespace_usage& y) {
  x.objects += y.objects;
  x.keys += y.keys;
  x.bytes += y.bytes;
  x.alarms += y.alarms;
}

caf::expected<std::string> random_id() {
  uint8_t bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    return make_error(errc::unavailable,
                      "the CSPRNG failed to make a namespace ID");
  return to_hex(bytes, sizeof(bytes));
}

std::string class_key(std::string_view name) {
  std::string key{detail::class_prefix};
  key += name;
  return key;
}

std::string dropping_key(std::string_view id) {
  std::string key{detail::dropping_prefix};
  key += id;
  return key;
}

// Checks the names of `m` and applies it to `state` (name -> record).
caf::error simulate(const migration& m,
                    std::map<std::string, namespace_record>& state,
                    const std::set<std::string>& bound, migration_plan& out) {
  auto check = [&](std::string_view x, const char* what) -> caf::error {
    if (auto err = namespace_registry::check_name(x, what))
      return invalid(m.tag, message_of(err));
    return caf::none;
  };
  for (auto& r : m.renamed_classes) {
    if (auto err = check(r.from, "a class name"))
      return err;
    if (auto err = check(r.to, "a class name"))
      return err;
    auto i = state.find(r.from);
    if (i == state.end())
      return invalid(m.tag, "cannot rename class " + in_quotes(r.from) +
                                ": no such class");
    if (state.count(r.to) > 0)
      return invalid(m.tag, "cannot rename class " + in_quotes(r.from) +
                                " to " + in_quotes(r.to) +
                                ": that class exists");
    auto rec = i->second;
    state.erase(i);
    rec.name = r.to;
    if (rec.class_name == r.from)
      rec.class_name = r.to;
    out.steps.push_back(step{step::rename, r.from, rec, rec.id});
    state.emplace(r.to, std::move(rec));
  }
  for (auto& name : m.deleted_classes) {
    if (auto err = check(name, "a class name"))
      return err;
    auto i = state.find(name);
    if (i == state.end())
      return invalid(m.tag, "cannot delete class " + in_quotes(name) +
                                ": no such class");
    if (bound.count(i->second.id) > 0)
      return invalid(m.tag, "cannot delete class " + in_quotes(name) +
                                ": it is bound in this deployment (delete "
                                "classes before binding them)");
    out.steps.push_back(step{step::remove, name, {}, i->second.id});
    out.deleted.push_back(i->second);
    state.erase(i);
  }
  for (auto& def : m.new_classes) {
    if (auto err = check(def.name, "a class name"))
      return err;
    if (!def.class_name.empty())
      if (auto err = check(def.class_name, "a class"))
        return err;
    if (!def.script.empty())
      if (auto err = check(def.script, "a script name"))
        return err;
    if (state.count(def.name) > 0)
      return invalid(m.tag, "cannot create class " + in_quotes(def.name) +
                                ": it exists");
    auto id = def.id.empty() ? random_id() : caf::expected<std::string>{def.id};
    if (!id)
      return std::move(id.error());
    if (!is_namespace_id(*id))
      return invalid(m.tag, "cannot create class " + in_quotes(def.name) +
                                ": a namespace ID is 32 lowercase hex digits");
    for (auto& entry : state)
      if (entry.second.id == *id)
        return invalid(m.tag, "cannot create class " + in_quotes(def.name) +
                                  " with ID " + *id + ": class " +
                                  in_quotes(entry.first) + " has that ID");
    namespace_record rec{std::move(*id), def.name, def.script,
                         def.class_name.empty() ? def.name : def.class_name};
    out.steps.push_back(step{step::create, def.name, rec, {}});
    state.emplace(def.name, std::move(rec));
  }
  return caf::none;
}

// Applies step `s` of migration `tag` inside the global environment's
// transaction, checking it against what is stored (the authority).
caf::error commit_step(meta_transaction& tx, const std::string& tag,
                       const step& s, namespace_usage& removed) {
  auto stored_id = [&](const std::string& name,
                       std::optional<std::string>& id) -> caf::error {
    id.reset();
    auto raw = tx.get(class_key(name));
    if (!raw)
      return std::move(raw.error());
    if (!*raw)
      return caf::none;
    auto rec = detail::decode_record(name, **raw);
    if (!rec)
      return std::move(rec.error());
    id = rec->id;
    return caf::none;
  };
  auto changed = [&](const std::string& name) {
    return invalid(tag, "class " + in_quotes(name) +
                            " changed while the migration was applied");
  };
  std::optional<std::string> id;
  if (auto err = stored_id(s.name, id))
    return err;
  if (s.what == step::create ? id.has_value() : id != s.id)
    return changed(s.name);
  if (s.what == step::rename) {
    if (auto err = stored_id(s.after.name, id))
      return err;
    if (id)
      return changed(s.after.name);
  }
  if (s.what != step::create)
    if (auto err = tx.remove(class_key(s.name)))
      return err;
  // The deletion is decided here, atomically with the record's removal: the
  // marker makes every later start (and migrate) drop what is left of the
  // class in the other jurisdictions, however often it is interrupted.
  if (s.what == step::remove)
    if (auto err = tx.put(dropping_key(s.id), s.name))
      return err;
  if (s.what != step::remove)
    if (auto err =
            tx.put(class_key(s.after.name), detail::encode_record(s.after)))
      return err;
  if (s.what == step::remove) {
    auto u = tx.drop_namespace_data(s.id);
    if (!u)
      return std::move(u.error());
    add(removed, *u);
  }
  return caf::none;
}

// Validates `migrations` against what `reg` holds, as `apply` does: the tags
// applied before go to `skipped`, a plan for each of the others to `plans`.
caf::error plan_all(const namespace_registry& reg,
                    const std::vector<migration>& migrations,
                    const std::vector<std::string>& bound_ids,
                    std::vector<std::string>& skipped,
                    std::vector<migration_plan>& plans) {
  auto history = reg.applied();
  if (!history)
    return std::move(history.error());
  std::set<std::string> done;
  for (auto& x : *history)
    done.insert(x.tag);
  auto records = reg.all();
  if (!records)
    return std::move(records.error());
  std::map<std::string, namespace_record> state;
  for (auto& rec : *records)
    state.emplace(rec.name, rec);
  std::set<std::string> bound{bound_ids.begin(), bound_ids.end()};
  std::set<std::string> tags;
  std::string first_new;
  for (size_t i = 0; i < migrations.size(); ++i) {
    auto& m = migrations[i];
    if (auto err = namespace_registry::check_name(m.tag, "a migration tag"))
      return make_error(errc::invalid_argument, "migration #" +
                                                    std::to_string(i + 1) +
                                                    ": " + message_of(err));
    if (!tags.insert(m.tag).second)
      return invalid(m.tag, "the tag appears twice");
    if (done.count(m.tag) > 0) {
      if (!first_new.empty())
        return invalid(m.tag, "applied before, but listed after " +
                                  in_quotes(first_new) +
                                  ", which was not: keep migrations in the "
                                  "order they were applied");
      skipped.push_back(m.tag);
      continue;
    }
    if (first_new.empty())
      first_new = m.tag;
    migration_plan p;
    p.index = i;
    p.tag = m.tag;
    if (auto err = simulate(m, state, bound, p))
      return err;
    plans.push_back(std::move(p));
  }
  return caf::none;
}

} // namespace

caf::error
namespace_registry::drop_deleted(const std::vector<std::string>& ids,
                                 std::vector<namespace_usage>& removed) {
  removed.assign(ids.size(), namespace_usage{});
  if (ids.empty())
    return caf::none;
  // Each environment drops every listed namespace in one transaction;
  // dropping again finds nothing, so an interrupted run simply repeats.
  for (auto j : engine_->existing_jurisdictions()) {
    if (j == jurisdiction::none)
      continue;
    std::vector<namespace_usage> here;
    auto err = engine_->update(j, [&](meta_transaction& tx) -> caf::error {
      here.assign(ids.size(), namespace_usage{});
      for (size_t k = 0; k < ids.size(); ++k) {
        auto u = tx.drop_namespace_data(ids[k]);
        if (!u)
          return std::move(u.error());
        here[k] = *u;
      }
      return caf::none;
    });
    if (err)
      return err;
    for (size_t k = 0; k < ids.size(); ++k)
      add(removed[k], here[k]);
  }
  return engine_->update(jurisdiction::none, [&](meta_transaction& tx) {
    for (auto& id : ids)
      if (auto err = tx.remove(dropping_key(id)))
        return err;
    return caf::error{};
  });
}

caf::error namespace_registry::finish_deletions_locked() {
  auto pending =
      engine_->meta_scan(jurisdiction::none, detail::dropping_prefix);
  if (!pending)
    return std::move(pending.error());
  if (pending->empty() || engine_->read_only())
    return caf::none;
  std::vector<std::string> ids;
  for (auto& entry : *pending)
    ids.push_back(entry.first.substr(detail::dropping_prefix.size()));
  std::vector<namespace_usage> removed;
  return drop_deleted(ids, removed);
}

caf::error namespace_registry::finish_deletions() {
  std::lock_guard<std::mutex> guard{write_mtx_};
  return finish_deletions_locked();
}

caf::expected<std::vector<migration>>
namespace_registry::resolve(const std::vector<migration>& migrations,
                            const std::vector<std::string>& bound_ids,
                            std::vector<std::string>* skipped) const {
  std::vector<std::string> skipped_tags;
  std::vector<migration_plan> plans;
  if (auto err = plan_all(*this, migrations, bound_ids, skipped_tags, plans))
    return err;
  std::vector<migration> result;
  for (auto& p : plans) {
    auto m = migrations[p.index];
    auto def = m.new_classes.begin();
    for (auto& s : p.steps)
      if (s.what == step::create)
        (def++)->id = s.after.id;
    result.push_back(std::move(m));
  }
  if (skipped != nullptr)
    *skipped = std::move(skipped_tags);
  return result;
}

caf::expected<migration_result>
namespace_registry::apply_locked(const std::vector<migration>& migrations,
                                 const std::vector<std::string>& bound_ids) {
  if (auto err = finish_deletions_locked())
    return err;
  migration_result result;
  std::vector<migration_plan> plans;
  // Validate everything before writing anything.
  if (auto err = plan_all(*this, migrations, bound_ids, result.skipped, plans))
    return err;
  if (!plans.empty() && engine_->read_only())
    return make_error(errc::unavailable,
                      "cannot apply migrations: the data directory is open "
                      "read-only");
  auto history = applied();
  if (!history)
    return std::move(history.error());
  uint64_t next_sequence = 1;
  for (auto& x : *history)
    next_sequence = std::max(next_sequence, x.sequence + 1);
  // Apply migration by migration.
  for (auto& p : plans) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    std::map<std::string, namespace_usage> global;
    auto err = engine_->update(
        jurisdiction::none, [&](meta_transaction& tx) -> caf::error {
          global.clear();
          std::string tag_key{detail::migration_prefix};
          tag_key += p.tag;
          auto prior = tx.get(tag_key);
          if (!prior)
            return std::move(prior.error());
          if (*prior)
            return invalid(p.tag, "applied meanwhile");
          for (auto& s : p.steps)
            if (auto err = commit_step(tx, p.tag, s, global[s.id]))
              return err;
          return tx.put(tag_key, detail::encode_applied(next_sequence, now));
        });
    if (err)
      return err;
    ++next_sequence;
    std::vector<std::string> ids;
    for (auto& rec : p.deleted)
      ids.push_back(rec.id);
    std::vector<namespace_usage> removed;
    if (auto err = drop_deleted(ids, removed))
      return err;
    for (size_t k = 0; k < p.deleted.size(); ++k) {
      add(removed[k], global[p.deleted[k].id]);
      result.deleted.push_back(
          removed_class{p.deleted[k].name, p.deleted[k].id, removed[k]});
    }
    result.applied.push_back(p.tag);
  }
  return result;
}

} // namespace durable
