#pragma once

// A counter object: `inc` adds one and answers the new value, `get` answers
// it, and `fetch` serves both over HTTP-style requests.

#include <cstdint>
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

class counter : public durable::object<counter_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](inc_atom) { return ++value_; },
        [this](get_atom) { return value_; },
        [this](const durable::fetch_request& req) {
          auto ends_with_inc =
              req.url.size() >= 4 &&
              req.url.compare(req.url.size() - 4, 4, "/inc") == 0;
          if (ends_with_inc)
            ++value_;
          return durable::make_text_response(200, std::to_string(value_));
        },
    };
  }

private:
  int64_t value_ = 0;
};

} // namespace example
