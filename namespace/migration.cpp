#include "durable/migration.hpp"

#include <string>

#include "durable/errc.hpp"
#include "json_reader.hpp"

namespace durable {

namespace {

using detail::json_value;

caf::error bad(const json_value& at, const std::string& what) {
  return make_error(errc::invalid_argument,
                    "migrations: " + what + " (at " + at.where() + ")");
}

caf::error expect(const json_value& x, json_value::kind k,
                  const std::string& what) {
  if (x.type == k)
    return caf::none;
  return bad(x, what + " must be " + detail::to_string(k) + ", not " +
                    detail::to_string(x.type));
}

caf::error read_string(const json_value& x, const std::string& what,
                       std::string& out) {
  if (auto err = expect(x, json_value::kind::string, what))
    return err;
  out = x.text;
  return caf::none;
}

// Checks that `x` has no members beyond `allowed`.
caf::error only(const json_value& x, std::initializer_list<const char*> allowed,
                const std::string& context) {
  for (auto& [name, value] : x.members) {
    bool ok = false;
    for (auto* a : allowed)
      ok = ok || name == a;
    if (ok)
      continue;
    if (name == "new_sqlite_classes")
      return bad(value, "new_sqlite_classes is not supported in " + context +
                            " (objects store key-value data in LMDB): use "
                            "new_classes");
    return bad(value, "unknown member \"" + name + "\" in " + context);
  }
  return caf::none;
}

caf::error read_new_class(const json_value& x, const std::string& context,
                          const std::string& default_script,
                          class_definition& out) {
  out.script = default_script;
  if (x.is_string()) {
    out.name = x.text;
    return caf::none;
  }
  if (!x.is_object())
    return bad(x, "an entry of new_classes in " + context +
                      " must be a string or an object");
  if (auto err = only(x, {"name", "class", "script"}, context))
    return err;
  auto* name = x.find("name");
  if (name == nullptr)
    return bad(x, "a new class in " + context + " needs a \"name\"");
  if (auto err = read_string(*name, "\"name\"", out.name))
    return err;
  if (auto* cls = x.find("class"))
    if (auto err = read_string(*cls, "\"class\"", out.class_name))
      return err;
  if (auto* script = x.find("script"))
    if (auto err = read_string(*script, "\"script\"", out.script))
      return err;
  return caf::none;
}

caf::error read_migration(const json_value& x, const std::string& script,
                          migration& out) {
  if (auto err = expect(x, json_value::kind::object, "a migration"))
    return err;
  auto* tag = x.find("tag");
  if (tag == nullptr)
    return bad(x, "a migration needs a \"tag\"");
  if (auto err = read_string(*tag, "\"tag\"", out.tag))
    return err;
  auto context = "migration \"" + out.tag + "\"";
  if (auto err =
          only(x, {"tag", "new_classes", "renamed_classes", "deleted_classes"},
               context))
    return err;
  if (auto* xs = x.find("new_classes")) {
    if (auto err = expect(*xs, json_value::kind::array, "new_classes"))
      return err;
    for (auto& item : xs->items) {
      class_definition def;
      if (auto err = read_new_class(item, context, script, def))
        return err;
      out.new_classes.push_back(std::move(def));
    }
  }
  if (auto* xs = x.find("renamed_classes")) {
    if (auto err = expect(*xs, json_value::kind::array, "renamed_classes"))
      return err;
    for (auto& item : xs->items) {
      if (auto err = expect(item, json_value::kind::object,
                            "an entry of renamed_classes"))
        return err;
      if (auto err = only(item, {"from", "to"}, context))
        return err;
      auto* from = item.find("from");
      auto* to = item.find("to");
      if (from == nullptr || to == nullptr)
        return bad(item,
                   "a rename in " + context + " needs \"from\" and \"to\"");
      class_rename r;
      if (auto err = read_string(*from, "\"from\"", r.from))
        return err;
      if (auto err = read_string(*to, "\"to\"", r.to))
        return err;
      out.renamed_classes.push_back(std::move(r));
    }
  }
  if (auto* xs = x.find("deleted_classes")) {
    if (auto err = expect(*xs, json_value::kind::array, "deleted_classes"))
      return err;
    for (auto& item : xs->items) {
      std::string name;
      if (auto err = read_string(item, "an entry of deleted_classes", name))
        return err;
      out.deleted_classes.push_back(std::move(name));
    }
  }
  return caf::none;
}

} // namespace

caf::expected<std::vector<migration>> parse_migrations(std::string_view json) {
  auto doc = detail::parse_json(json);
  if (!doc)
    return std::move(doc.error());
  const json_value* list = &*doc;
  std::string script;
  if (doc->is_object()) {
    if (auto err = only(*doc, {"script", "migrations"}, "the file"))
      return err;
    if (auto* s = doc->find("script"))
      if (auto err = read_string(*s, "\"script\"", script))
        return err;
    list = doc->find("migrations");
    if (list == nullptr)
      return bad(*doc, "the file needs a \"migrations\" array");
  }
  if (auto err = expect(*list, json_value::kind::array, "the migrations"))
    return err;
  std::vector<migration> result;
  for (auto& item : list->items) {
    migration m;
    if (auto err = read_migration(item, script, m))
      return err;
    result.push_back(std::move(m));
  }
  return result;
}

} // namespace durable
