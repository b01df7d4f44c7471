// The shared registry: validate against the mirror, append with
// compare-and-swap, mirror what the log holds, in its order.

#include "durable/shared_registry.hpp"

#include <algorithm>
#include <set>

#include "durable/errc.hpp"
#include "strict_json.hpp"

namespace durable {

registry_log::~registry_log() {
  // nop
}

namespace {

/// An entry nests 5 levels; the bound keeps a corrupted store harmless.
constexpr size_t max_entry_depth = 16;

/// Tags looked up per call (the store's batch limit).
constexpr size_t tag_batch = 64;

std::string migration_entry(const migration& m) {
  return "{\"migration\":" + to_json(m) + "}";
}

std::string bind_entry(std::string_view name, std::string_view script) {
  nlohmann::ordered_json doc{{"bind", {{"name", name}, {"script", script}}}};
  return detail::dump_json(doc);
}

/// A parsed entry: a migration, or a class bound without one.
struct entry_content {
  std::optional<migration> m;
  std::string bind_name;
  std::string bind_script;
};

caf::error bad_entry(const std::string& where, const std::string& what) {
  return make_error(errc::storage_failure,
                    "shared registry: " + where + ": " + what);
}

caf::expected<migration> parse_one_migration(const nlohmann::json& x) {
  auto list = parse_migrations("[" + detail::dump_json(x) + "]");
  if (!list)
    return std::move(list.error());
  if (list->size() != 1)
    return make_error(errc::invalid_argument, "not one migration");
  return std::move(list->front());
}

caf::expected<entry_content> parse_entry(const std::string& text,
                                         const std::string& where) {
  auto doc = detail::parse_strict_json(text, max_entry_depth);
  if (!doc)
    return bad_entry(where, message_of(doc.error()));
  if (!doc->is_object() || doc->size() != 1)
    return bad_entry(where, "not an object with one member");
  entry_content result;
  if (auto i = doc->find("migration"); i != doc->end()) {
    auto m = parse_one_migration(*i);
    if (!m)
      return bad_entry(where, message_of(m.error()));
    result.m = std::move(*m);
    return result;
  }
  auto i = doc->find("bind");
  if (i == doc->end() || !i->is_object() || i->size() != 2 ||
      !i->contains("name") || !(*i)["name"].is_string() ||
      !i->contains("script") || !(*i)["script"].is_string())
    return bad_entry(where, "neither a migration nor a binding");
  result.bind_name = (*i)["name"].get<std::string>();
  result.bind_script = (*i)["script"].get<std::string>();
  return result;
}

std::string in_quotes(std::string_view x) {
  return "\"" + std::string{x} + "\"";
}

/// `given` as the log would hold it if it matched `logged`: a class without
/// an ID or a script takes the logged one, and an empty class is the name.
migration as_logged(migration given, const migration& logged) {
  auto normalize = [](migration& m) {
    for (auto& def : m.new_classes)
      if (def.class_name.empty())
        def.class_name = def.name;
  };
  if (given.new_classes.size() == logged.new_classes.size())
    for (size_t i = 0; i < given.new_classes.size(); ++i) {
      auto& def = given.new_classes[i];
      if (def.id.empty())
        def.id = logged.new_classes[i].id;
      if (def.script.empty())
        def.script = logged.new_classes[i].script;
    }
  normalize(given);
  return given;
}

bool same_definition(const migration& given, migration logged) {
  for (auto& def : logged.new_classes)
    if (def.class_name.empty())
      def.class_name = def.name;
  return as_logged(given, logged) == logged;
}

} // namespace

// -- constructors -------------------------------------------------------------

shared_registry::shared_registry(namespace_registry& local,
                                 std::shared_ptr<registry_log> log)
    : local_(local), log_(std::move(log)) {
  // nop
}

// -- mirroring ----------------------------------------------------------------

caf::error shared_registry::mirror(const std::vector<std::string>& bound_ids) {
  std::lock_guard<std::mutex> guard{mtx_};
  return mirror_locked(bound_ids);
}

caf::error
shared_registry::mirror_locked(const std::vector<std::string>& bound_ids) {
  auto position = local_.log_position();
  if (!position)
    return std::move(position.error());
  if (*position == 0 && !mirrored_once_) {
    auto history = local_.applied();
    if (!history)
      return std::move(history.error());
    if (!history->empty())
      return make_error(errc::invalid_argument,
                        "this data directory has migrations applied outside "
                        "the shared registry (" +
                            log_->describe() + "), the first " +
                            in_quotes(history->front().tag) +
                            ": their namespace IDs would differ from the "
                            "cluster's; start the node with a data directory "
                            "without migrations");
  }
  auto got = log_->read(*position);
  if (!got)
    return std::move(got.error());
  auto expected = *position;
  for (auto& entry : got->entries) {
    if (entry.sequence != ++expected)
      return make_error(errc::storage_failure,
                        "shared registry: " + log_->describe() +
                            " answered entry " +
                            std::to_string(entry.sequence) + " for entry " +
                            std::to_string(expected));
    if (auto err = apply_entry(entry, bound_ids, nullptr))
      return err;
    if (auto err = local_.set_log_position(entry.sequence))
      return err;
  }
  head_ = got->head;
  mirrored_once_ = true;
  return caf::none;
}

caf::error
shared_registry::apply_entry(const registry_entry& entry,
                             const std::vector<std::string>& bound_ids,
                             migration_result* result) {
  auto where =
      "entry " + std::to_string(entry.sequence) + " of " + log_->describe();
  auto content = parse_entry(entry.text, where);
  if (!content)
    return std::move(content.error());
  auto context = [&](const caf::error& err) {
    return with_context(err, "shared registry: cannot mirror " + where + ": ");
  };
  if (!content->m) {
    auto rec = local_.ensure(content->bind_name, content->bind_script);
    return rec ? caf::error{} : context(rec.error());
  }
  auto applied = local_.apply({*content->m}, bound_ids);
  if (!applied)
    return context(applied.error());
  if (result != nullptr) {
    for (auto& tag : applied->applied)
      result->applied.push_back(tag);
    for (auto& d : applied->deleted)
      result->deleted.push_back(d);
  }
  return caf::none;
}

// -- writing ------------------------------------------------------------------

caf::expected<namespace_record>
shared_registry::ensure(std::string_view name, std::string_view script,
                        const std::vector<std::string>& bound_ids) {
  if (auto err = namespace_registry::check_name(name, "a namespace name"))
    return err;
  if (!script.empty())
    if (auto err = namespace_registry::check_name(script, "a script name"))
      return err;
  std::lock_guard<std::mutex> guard{mtx_};
  for (int round = 0; round < max_rounds; ++round) {
    if (auto err = mirror_locked(bound_ids))
      return err;
    auto found = local_.find(name);
    if (!found)
      return std::move(found.error());
    if (*found)
      return std::move(**found);
    // Validate as `ensure` would on every mirror: an entry that cannot be
    // applied would stop every node's mirror.
    auto id = namespace_registry::derived_id(name);
    auto owner = local_.find_by_id(id);
    if (!owner)
      return std::move(owner.error());
    if (*owner)
      return make_error(errc::invalid_argument,
                        "class " + in_quotes(name) +
                            " has no namespace record and the ID derived "
                            "from its name belongs to class " +
                            in_quotes((*owner)->name) +
                            " (renamed from it): create " + in_quotes(name) +
                            " with a new_classes migration");
    auto text = bind_entry(name, script);
    auto check = parse_entry(text, "a new entry");
    if (!check || check->bind_name != name || check->bind_script != script)
      return make_error(errc::invalid_argument,
                        "a class bound in a shared registry needs a name and "
                        "script of valid UTF-8");
    auto appended = log_->append(head_, "", text);
    if (!appended)
      return std::move(appended.error());
    if (!*appended)
      continue; // Another node appended first: read and look again.
    auto rec = local_.ensure(name, script);
    if (!rec)
      return std::move(rec.error());
    if (auto err = local_.set_log_position((*appended)->sequence))
      return err;
    head_ = **appended;
    return rec;
  }
  return make_error(errc::unavailable, "shared registry (" + log_->describe() +
                                           ") kept changing; try again");
}

caf::error
shared_registry::check_skipped(const std::vector<migration>& migrations,
                               const std::vector<std::string>& skipped) {
  for (size_t first = 0; first < skipped.size(); first += tag_batch) {
    auto last = std::min(skipped.size(), first + tag_batch);
    std::vector<std::string> tags(skipped.begin() + first,
                                  skipped.begin() + last);
    auto texts = log_->find_tags(tags);
    if (!texts)
      return std::move(texts.error());
    for (size_t i = 0; i < tags.size(); ++i) {
      auto& tag = tags[i];
      auto given = std::find_if(migrations.begin(), migrations.end(),
                                [&](auto& m) { return m.tag == tag; });
      if ((*texts)[i] == std::nullopt)
        return make_error(errc::invalid_argument,
                          "migration " + in_quotes(tag) +
                              " is applied in this data directory but not "
                              "in the shared registry (" +
                              log_->describe() + ")");
      auto content =
          parse_entry(*(*texts)[i], "the entry of migration " + in_quotes(tag));
      if (!content)
        return std::move(content.error());
      if (!content->m || !same_definition(*given, *content->m))
        return make_error(errc::invalid_argument,
                          "migration " + in_quotes(tag) +
                              " differs from the one the shared registry (" +
                              log_->describe() + ") applied: " + *(*texts)[i]);
    }
  }
  return caf::none;
}

caf::expected<migration_result>
shared_registry::apply(const std::vector<migration>& migrations,
                       const std::vector<std::string>& bound_ids) {
  std::lock_guard<std::mutex> guard{mtx_};
  migration_result result;
  std::set<std::string> appended_here;
  for (int round = 0; round < max_rounds; ++round) {
    if (auto err = mirror_locked(bound_ids))
      return err;
    std::vector<std::string> skipped;
    auto resolved = local_.resolve(migrations, bound_ids, &skipped);
    if (!resolved)
      return std::move(resolved.error());
    if (auto err = check_skipped(migrations, skipped))
      return err;
    bool lost = false;
    for (auto& m : *resolved) {
      auto text = migration_entry(m);
      auto check = parse_entry(text, "a new entry");
      if (!check || !check->m || !(*check->m == m))
        return make_error(errc::invalid_argument,
                          "migration " + in_quotes(m.tag) +
                              ": names in a shared registry must be valid "
                              "UTF-8");
      auto appended = log_->append(head_, m.tag, text);
      if (!appended)
        return std::move(appended.error());
      if (!*appended) {
        lost = true; // Another writer came first: mirror and validate again.
        break;
      }
      if (auto err =
              apply_entry({(*appended)->sequence, text}, bound_ids, &result))
        return err;
      if (auto err = local_.set_log_position((*appended)->sequence))
        return err;
      head_ = **appended;
      appended_here.insert(m.tag);
    }
    if (lost)
      continue;
    for (auto& tag : skipped)
      if (appended_here.count(tag) == 0)
        result.skipped.push_back(tag);
    return result;
  }
  return make_error(errc::unavailable, "shared registry (" + log_->describe() +
                                           ") kept changing; try again");
}

} // namespace durable
