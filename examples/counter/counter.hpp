#pragma once

// A counter object: `inc` adds one and answers the new value, `get` answers
// it, and `fetch` serves both over HTTP-style requests.

#include <cstdint>
#include <stdexcept>
#include <string>

#include <caf/all.hpp>

#include "durable/fetch.hpp"
#include "durable/object.hpp"

namespace example {

using inc_atom = caf::atom_constant<caf::atom("inc")>;
using get_atom = caf::atom_constant<caf::atom("get")>;

using counter_api = caf::typed_actor<caf::replies_to<inc_atom>::with<int64_t>,
                                     caf::replies_to<get_atom>::with<int64_t>,
                                     durable::fetch_signature>;

/// A counter kept in the object's storage under "value": every increment is
/// a read and a write, acknowledged only once the write is durable.
class counter : public durable::object<counter_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](inc_atom) { return increment(); },
        [this](get_atom) { return value(); },
        [this](const durable::fetch_request& req) {
          auto is_inc = req.url.size() >= 4 &&
                        req.url.compare(req.url.size() - 4, 4, "/inc") == 0;
          auto x = is_inc ? increment() : value();
          return durable::make_text_response(200, std::to_string(x));
        },
    };
  }

private:
  int64_t value() {
    auto x = storage().get_value<int64_t>("value");
    if (!x)
      throw std::runtime_error(durable::message_of(x.error()));
    return x->value_or(0);
  }

  int64_t increment() {
    auto next = value() + 1;
    if (auto err = storage().put_value("value", next))
      throw std::runtime_error(durable::message_of(err));
    return next;
  }
};

} // namespace example
