#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "durable/errc.hpp"
#include "durable/jurisdiction.hpp"
#include "durable/location_hint.hpp"
#include "durable/namespace_core.hpp"
#include "durable/object_id.hpp"
#include "durable/stub.hpp"

namespace durable {

/// Options for `object_namespace::get`.
struct get_options {
  /// Where to create the object if this access creates it (best effort).
  durable::location_hint location_hint = location_hint::none;
};

/// The objects of one class: hands out IDs and stubs. A value type; copies
/// refer to the same namespace. `jurisdiction(j)` gives a sub-namespace whose
/// IDs carry `j` and whose `get` refuses IDs of any other jurisdiction.
template <class Interface>
class object_namespace {
public:
  // -- member types -----------------------------------------------------------

  using stub_type = stub<Interface>;

  // -- constructors -----------------------------------------------------------

  object_namespace() = default;

  explicit object_namespace(
      std::shared_ptr<namespace_core> core,
      durable::jurisdiction j = durable::jurisdiction::none,
      bool restricted = false)
      : core_(std::move(core)), jurisdiction_(j), restricted_(restricted) {
    // nop
  }

  // -- properties -------------------------------------------------------------

  /// The namespace's unique key (survives class renames).
  const std::string& key() const { return core_->key(); }

  /// The jurisdiction of this (sub-)namespace; `none` for the root.
  durable::jurisdiction jurisdiction() const noexcept { return jurisdiction_; }

  /// Number of objects of this namespace live on this node.
  size_t live_objects() const { return core_->live_objects(); }

  // -- sub-namespaces ---------------------------------------------------------

  /// The sub-namespace restricted to `j`.
  object_namespace jurisdiction(durable::jurisdiction j) const {
    return object_namespace{core_, j, j != durable::jurisdiction::none};
  }

  /// The sub-namespace restricted to the jurisdiction named `name`
  /// (`eu`, `fedramp`, `fedramp-high`, `us`).
  caf::expected<object_namespace> jurisdiction(std::string_view name) const {
    auto j = parse_jurisdiction(name);
    if (!j)
      return std::move(j.error());
    return jurisdiction(*j);
  }

  // -- IDs --------------------------------------------------------------------

  /// The ID of the object named `name`: the same name always gives the same
  /// ID in this (sub-)namespace.
  object_id id_from_name(std::string_view name) const {
    return core_->ids().from_name(name, jurisdiction_);
  }

  /// A fresh random ID in this (sub-)namespace's jurisdiction.
  caf::expected<object_id> new_unique_id() const {
    return core_->new_unique(jurisdiction_, location_hint::none);
  }

  /// A fresh random ID in this (sub-)namespace's jurisdiction for an object
  /// that runs near `hint` (in a cluster; one node ignores the hint).
  caf::expected<object_id> new_unique_id(location_hint hint) const {
    return core_->new_unique(jurisdiction_, hint);
  }

  /// A fresh random ID in jurisdiction `j`; a sub-namespace accepts only its
  /// own jurisdiction.
  caf::expected<object_id>
  new_unique_id(durable::jurisdiction j,
                location_hint hint = location_hint::none) const {
    if (restricted_ && j != jurisdiction_)
      return make_error(errc::wrong_jurisdiction,
                        "new_unique_id called on jurisdictional subnamespace "
                        "with a different jurisdiction");
    return core_->new_unique(j, hint);
  }

  /// Parses an ID from its 64 hex digits (either case) and checks that this
  /// namespace made it.
  caf::expected<object_id> id_from_string(std::string_view hex) const {
    return core_->ids().from_string(hex);
  }

  // -- stubs ------------------------------------------------------------------

  /// Returns a stub for `id` at once; nothing is created until its first
  /// message.
  caf::expected<stub_type> get(const object_id& id,
                               get_options opts = {}) const {
    if (!core_->ids().verify(id))
      return make_error(errc::wrong_namespace);
    if (restricted_ && id.jurisdiction() != jurisdiction_)
      return make_error(errc::wrong_jurisdiction);
    return stub_type{id, core_, opts.location_hint};
  }

  /// Shorthand for `get(id_from_name(name))`.
  stub_type get_by_name(std::string_view name, get_options opts = {}) const {
    return stub_type{id_from_name(name), core_, opts.location_hint};
  }

private:
  std::shared_ptr<namespace_core> core_;
  durable::jurisdiction jurisdiction_ = durable::jurisdiction::none;
  bool restricted_ = false;
};

} // namespace durable
