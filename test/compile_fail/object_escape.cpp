// Must not compile: inside a durable object, the ways out that cannot wait for
// the output gate (CAF's response promises, delegation, timers) are refused.
// DURABLE_ESCAPE picks one; without it the object uses the gated ways and
// must compile, which proves that the failures come from the refusals.
#include <chrono>

#include <caf/all.hpp>

#include "durable/object.hpp"

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using ping_api = caf::typed_actor<caf::replies_to<ping_atom>::with<int>>;

class pinger : public durable::object<ping_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](ping_atom) -> caf::typed_response_promise<int> {
#if DURABLE_ESCAPE == 1
          auto rp = make_response_promise<int>();
#elif DURABLE_ESCAPE == 2
          delegate(caf::actor{}, ping_atom::value);
          auto rp = make_gated_promise<int>();
#elif DURABLE_ESCAPE == 3
          delayed_send(caf::actor{}, std::chrono::seconds{1}, ping_atom::value);
          auto rp = make_gated_promise<int>();
#else
          send(caf::actor{}, ping_atom::value);
          auto rp = make_gated_promise<int>();
#endif
          rp.deliver(1);
          return rp;
        },
    };
  }
};
