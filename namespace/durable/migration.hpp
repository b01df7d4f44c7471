#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "durable/storage_types.hpp"

namespace durable {

/// A class created by a migration.
struct class_definition {
  /// The name `deployment::bind` uses (the binding).
  std::string name;
  /// The class; empty means the same as `name`.
  std::string class_name;
  /// The program that serves it; empty means the deployment's default.
  std::string script;
  /// The namespace ID to give it (32 lowercase hex digits); empty means a
  /// fresh random one. Set to recreate a namespace whose IDs must stay valid
  /// (a shared registry records every new class with its ID this way).
  std::string id;
};

bool operator==(const class_definition& x, const class_definition& y);

/// A class renamed by a migration: same namespace, same IDs, same data.
struct class_rename {
  std::string from;
  std::string to;
};

bool operator==(const class_rename& x, const class_rename& y);

/// One step of a namespace's history, applied once and recorded by its tag.
/// Within a migration, renames apply first, then deletions, then new classes
/// (so `deleted_classes: ["a"], new_classes: ["a"]` recreates `a` empty).
struct migration {
  std::string tag;
  std::vector<class_definition> new_classes;
  std::vector<class_rename> renamed_classes;
  /// Deleting a class removes its namespace record and all data of all its
  /// objects (keys, alarms) in every jurisdiction.
  std::vector<std::string> deleted_classes;
};

bool operator==(const migration& x, const migration& y);

/// What a deleted class had stored (summed over all jurisdictions; the
/// namespace number of `removed` is meaningless here and 0).
struct removed_class {
  std::string name;
  std::string id;
  namespace_usage removed;
};

/// The outcome of applying a list of migrations.
struct migration_result {
  /// Tags applied now, in order.
  std::vector<std::string> applied;
  /// Tags skipped because they were applied before.
  std::vector<std::string> skipped;
  /// Classes deleted now and what they had stored.
  std::vector<removed_class> deleted;
};

/// Parses migrations from JSON, either an array of migrations or an object
/// `{"script": "...", "migrations": [...]}` whose `script` is the default
/// for new classes. A migration is
/// ```
/// {"tag": "v2",
///  "new_classes": ["counter", {"name": "chat", "class": "ChatRoom",
///                              "script": "chat", "id": "<32 hex>"}],
///  "renamed_classes": [{"from": "old", "to": "new"}],
///  "deleted_classes": ["gone"]}
/// ```
/// Unknown members are errors (they are likely typos); so is
/// `new_sqlite_classes` (storage here is key-value on LMDB). So is a member
/// name twice in one object, and nesting deeper than 64 levels. Errors are
/// `errc::invalid_argument` naming the place: line and column for what is
/// not JSON, the path (`migrations[1].renamed_classes[0].to`) otherwise.
caf::expected<std::vector<migration>> parse_migrations(std::string_view json);

/// Whether `x` is a namespace ID: 32 lowercase hex digits.
bool is_namespace_id(std::string_view x);

/// Writes `x` as one migration object that `parse_migrations` reads back
/// (inside an array): every member spelled out, `class` and `script` too.
/// Bytes that are not valid UTF-8 become U+FFFD, so a name holding them does
/// not read back equal.
std::string to_json(const migration& x);

} // namespace durable
