#include "durable/migration.hpp"

#include <string>

#include "durable/errc.hpp"
#include "strict_json.hpp"

namespace durable {

namespace {

using json = nlohmann::json;

/// A migration file nests 5 levels (file, migrations, migration,
/// new_classes, class); the bound only keeps hostile input small and flat.
constexpr size_t max_depth = 64;

/// Where a value is in the file ("migrations[2].renamed_classes[0].to").
std::string member_path(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}

std::string item_path(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

caf::error bad(const std::string& path, const std::string& what) {
  return make_error(errc::invalid_argument,
                    "migrations: " + what + " (at " +
                        (path.empty() ? "the top level" : path) + ")");
}

/// "a string", "an object", ... for error texts.
std::string kind_of(json::value_t x) {
  switch (x) {
  case json::value_t::null:
    return "null";
  case json::value_t::array:
  case json::value_t::object:
    return std::string{"an "} + json(x).type_name();
  default:
    return std::string{"a "} + json(x).type_name();
  }
}

caf::error expect(const json& x, json::value_t kind, const std::string& path,
                  const std::string& what) {
  if (x.type() == kind)
    return caf::none;
  return bad(path,
             what + " must be " + kind_of(kind) + ", not " + kind_of(x.type()));
}

caf::error read_string(const json& x, const std::string& path,
                       const std::string& what, std::string& out) {
  if (auto err = expect(x, json::value_t::string, path, what))
    return err;
  out = x.get<std::string>();
  return caf::none;
}

/// Reads the optional string member `name` of `x` into `out`.
caf::error read_member(const json& x, const std::string& path,
                       const std::string& name, std::string& out) {
  auto i = x.find(name);
  if (i == x.end())
    return caf::none;
  return read_string(*i, member_path(path, name), "\"" + name + "\"", out);
}

// Checks that `x` has no members beyond `allowed`.
caf::error only(const json& x, std::initializer_list<const char*> allowed,
                const std::string& context, const std::string& path) {
  for (auto& item : x.items()) {
    auto& name = item.key();
    bool ok = false;
    for (auto* a : allowed)
      ok = ok || name == a;
    if (ok)
      continue;
    auto where = member_path(path, name);
    if (name == "new_sqlite_classes")
      return bad(where, "new_sqlite_classes is not supported in " + context +
                            " (objects store key-value data in LMDB): use "
                            "new_classes");
    return bad(where,
               "unknown member " + detail::echo(name) + " in " + context);
  }
  return caf::none;
}

caf::error read_new_class(const json& x, const std::string& path,
                          const std::string& context,
                          const std::string& default_script,
                          class_definition& out) {
  out.script = default_script;
  if (x.is_string()) {
    out.name = x.get<std::string>();
    return caf::none;
  }
  if (!x.is_object())
    return bad(path, "an entry of new_classes in " + context +
                         " must be a string or an object");
  if (auto err = only(x, {"name", "class", "script", "id"}, context, path))
    return err;
  if (!x.contains("name"))
    return bad(path, "a new class in " + context + " needs a \"name\"");
  if (auto err = read_member(x, path, "name", out.name))
    return err;
  if (auto err = read_member(x, path, "class", out.class_name))
    return err;
  if (auto err = read_member(x, path, "script", out.script))
    return err;
  if (auto err = read_member(x, path, "id", out.id))
    return err;
  if (!out.id.empty() && !is_namespace_id(out.id))
    return bad(member_path(path, "id"),
               "a namespace ID is 32 lowercase hex digits, not " +
                   detail::echo(out.id));
  return caf::none;
}

/// Returns the array member `name` of `x` (null if there is none).
caf::expected<const json*> array_member(const json& x, const std::string& path,
                                        const std::string& name) {
  auto i = x.find(name);
  if (i == x.end())
    return nullptr;
  if (auto err =
          expect(*i, json::value_t::array, member_path(path, name), name))
    return err;
  return &*i;
}

caf::error read_renames(const json& xs, const std::string& path,
                        const std::string& context, migration& out) {
  for (size_t i = 0; i < xs.size(); ++i) {
    auto& item = xs[i];
    auto where = item_path(path, i);
    if (auto err = expect(item, json::value_t::object, where,
                          "an entry of renamed_classes"))
      return err;
    if (auto err = only(item, {"from", "to"}, context, where))
      return err;
    if (!item.contains("from") || !item.contains("to"))
      return bad(where,
                 "a rename in " + context + " needs \"from\" and \"to\"");
    class_rename r;
    if (auto err = read_member(item, where, "from", r.from))
      return err;
    if (auto err = read_member(item, where, "to", r.to))
      return err;
    out.renamed_classes.push_back(std::move(r));
  }
  return caf::none;
}

caf::error read_migration(const json& x, const std::string& path,
                          const std::string& script, migration& out) {
  if (auto err = expect(x, json::value_t::object, path, "a migration"))
    return err;
  if (!x.contains("tag"))
    return bad(path, "a migration needs a \"tag\"");
  if (auto err = read_member(x, path, "tag", out.tag))
    return err;
  auto context = "migration " + detail::echo(out.tag);
  if (auto err =
          only(x, {"tag", "new_classes", "renamed_classes", "deleted_classes"},
               context, path))
    return err;
  auto news = array_member(x, path, "new_classes");
  if (!news)
    return std::move(news.error());
  for (size_t i = 0; *news != nullptr && i < (*news)->size(); ++i) {
    class_definition def;
    auto where = item_path(member_path(path, "new_classes"), i);
    if (auto err = read_new_class((**news)[i], where, context, script, def))
      return err;
    out.new_classes.push_back(std::move(def));
  }
  auto renames = array_member(x, path, "renamed_classes");
  if (!renames)
    return std::move(renames.error());
  if (*renames != nullptr)
    if (auto err = read_renames(**renames, member_path(path, "renamed_classes"),
                                context, out))
      return err;
  auto deletes = array_member(x, path, "deleted_classes");
  if (!deletes)
    return std::move(deletes.error());
  for (size_t i = 0; *deletes != nullptr && i < (*deletes)->size(); ++i) {
    std::string name;
    auto where = item_path(member_path(path, "deleted_classes"), i);
    if (auto err = read_string((**deletes)[i], where,
                               "an entry of deleted_classes", name))
      return err;
    out.deleted_classes.push_back(std::move(name));
  }
  return caf::none;
}

} // namespace

bool is_namespace_id(std::string_view x) {
  if (x.size() != 32)
    return false;
  for (auto c : x)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

bool operator==(const class_definition& x, const class_definition& y) {
  return x.name == y.name && x.class_name == y.class_name &&
         x.script == y.script && x.id == y.id;
}

bool operator==(const class_rename& x, const class_rename& y) {
  return x.from == y.from && x.to == y.to;
}

bool operator==(const migration& x, const migration& y) {
  return x.tag == y.tag && x.new_classes == y.new_classes &&
         x.renamed_classes == y.renamed_classes &&
         x.deleted_classes == y.deleted_classes;
}

std::string to_json(const migration& x) {
  auto news = nlohmann::ordered_json::array();
  for (auto& def : x.new_classes) {
    nlohmann::ordered_json entry{
        {"name", def.name}, {"class", def.class_name}, {"script", def.script}};
    if (!def.id.empty())
      entry["id"] = def.id;
    news.push_back(std::move(entry));
  }
  auto renames = nlohmann::ordered_json::array();
  for (auto& r : x.renamed_classes)
    renames.push_back({{"from", r.from}, {"to", r.to}});
  nlohmann::ordered_json doc{{"tag", x.tag},
                             {"new_classes", std::move(news)},
                             {"renamed_classes", std::move(renames)},
                             {"deleted_classes", x.deleted_classes}};
  return detail::dump_json(doc);
}

caf::expected<std::vector<migration>> parse_migrations(std::string_view text) {
  auto doc = detail::parse_strict_json(text, max_depth);
  if (!doc)
    return make_error(errc::invalid_argument,
                      "migrations: " + message_of(doc.error()));
  const json* list = &*doc;
  std::string path;
  std::string script;
  if (doc->is_object()) {
    if (auto err = only(*doc, {"script", "migrations"}, "the file", path))
      return err;
    if (auto err = read_member(*doc, path, "script", script))
      return err;
    auto i = doc->find("migrations");
    if (i == doc->end())
      return bad(path, "the file needs a \"migrations\" array");
    list = &*i;
    path = "migrations";
  }
  if (auto err = expect(*list, json::value_t::array, path, "the migrations"))
    return err;
  std::vector<migration> result;
  for (size_t i = 0; i < list->size(); ++i) {
    migration m;
    if (auto err = read_migration((*list)[i], item_path(path, i), script, m))
      return err;
    result.push_back(std::move(m));
  }
  return result;
}

} // namespace durable
