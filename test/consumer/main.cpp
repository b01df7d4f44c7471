// Uses the installed caf-durable: binds a namespace and calls an object.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <caf/all.hpp>

#include "durable/config.hpp"
#include "durable/deployment.hpp"
#include "durable/object.hpp"

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using ping_api = caf::typed_actor<caf::replies_to<ping_atom>::with<int>>;

class pinger : public durable::object<ping_api> {
public:
  using object::object;
  behavior_type make_behavior() override {
    return {[this](ping_atom) { return ++pings_; }};
  }

private:
  int pings_ = 0;
};

int main(int argc, char** argv) {
  durable::config cfg;
  if (argc > 1)
    cfg.set("durable.data-dir", argv[1]);
  caf::actor_system sys{cfg};
  auto dep = durable::deployment::open(sys);
  if (!dep)
    return EXIT_FAILURE;
  auto ns = dep->bind<pinger>("pinger");
  if (!ns)
    return EXIT_FAILURE;
  auto stub = ns->get_by_name("x");
  auto a = stub.call(std::chrono::seconds{5}, ping_atom::value);
  auto b = stub.call(std::chrono::seconds{5}, ping_atom::value);
  if (!a || !b || *a != 1 || *b != 2)
    return EXIT_FAILURE;
  std::printf("consumer ok: %s\n", stub.id().to_string().c_str());
  return EXIT_SUCCESS;
}
