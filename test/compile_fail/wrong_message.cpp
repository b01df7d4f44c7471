// Must not compile: a stub accepts only messages of its object's interface.
// With DURABLE_CONTROL defined it sends a fitting message and must compile,
// which proves that the failure comes from the interface check.
#include <chrono>

#include <caf/all.hpp>

#include "durable/stub.hpp"

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using ping_api = caf::typed_actor<caf::replies_to<ping_atom>::with<int>>;

void send(const durable::stub<ping_api>& stub) {
#ifdef DURABLE_CONTROL
  stub.call(std::chrono::seconds{1}, ping_atom::value);
#else
  stub.call(std::chrono::seconds{1}, std::string{"not in the interface"});
#endif
}
