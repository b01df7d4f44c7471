// Fuzzes CAF 0.17 binary deserialization of the project's message types:
// object_id, fetch_request, fetch_response, stubs (their inspect resolves
// the namespace by key), the alarm message (dur_alarm, time, failures,
// drop) and type-erased caf::message, all with the actor system of a real
// deployment (durable::config registers the types). Oracles: whatever
// deserializes re-serializes to bytes that deserialize to an equal value
// and re-serialize to the same bytes; a stub is bound exactly when its key
// names a live namespace; nothing crashes, reads out of bounds or allocates
// without bound on any input.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "durable/atoms.hpp"
#include "durable/config.hpp"
#include "durable/deployment.hpp"
#include "durable/fetch.hpp"
#include "durable/object.hpp"
#include "durable/object_id.hpp"
#include "durable/stub.hpp"
#include "fuzz_input.hpp"

namespace {

using namespace durable;

using echo_api = caf::typed_actor<caf::replies_to<int32_t>::with<int32_t>>;

class echo : public object<echo_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {[](int32_t x) { return x; }};
  }
};

using echo_stub = stub<echo_api>;

// One actor system and deployment for the whole run.
struct world {
  // Not durable::config: its options (opt_group::add, compiled by clang)
  // crash Debian's g++-built libcaf when the config is used (a clang/g++
  // mismatch in CAF's option meta-state statics). The message types are
  // all this needs; the deployment gets explicit settings.
  caf::actor_system_config cfg;
  caf::actor_system sys{(durable::add_message_types(cfg), cfg)};
  std::filesystem::path dir;
  std::optional<deployment> dep;
  object_namespace<echo_api> ns;

  world() {
    dir = std::filesystem::temp_directory_path() /
          ("durable-fuzz-caf-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    settings s;
    s.data_dir = dir.string();
    s.secret_hex = std::string(64, 'a');
    auto d = deployment::open(sys, s);
    FUZZ_CHECK(d, "cannot open a deployment: " + to_string(d.error()));
    dep.emplace(std::move(*d));
    auto bound = dep->bind<echo>("echo");
    FUZZ_CHECK(bound, "cannot bind");
    ns = *bound;
    // The open environment keeps its unlinked files; nothing is left behind.
    std::filesystem::remove_all(dir);
  }
};

// Never destroyed: tearing the deployment and the actor system down at exit
// is not what this target tests, and in the clang build it crashes in
// ~actor_system (same clang/g++ mix as above; the g++ test suites tear
// deployments down cleanly).
world& the_world() {
  static world* w = new world;
  return *w;
}

using bytes = std::vector<char>;

template <class T>
bytes save(T& x) {
  bytes buf;
  caf::binary_serializer sink{the_world().sys, buf};
  auto err = sink(x);
  FUZZ_CHECK(!err, "a deserialized value does not serialize");
  return buf;
}

template <class T>
caf::error load(const char* data, size_t size, T& x) {
  caf::binary_deserializer src{the_world().sys, data, size};
  return src(x);
}

bool same(const fetch_request& x, const fetch_request& y) {
  return x.method == y.method && x.url == y.url && x.headers == y.headers &&
         x.body == y.body;
}

bool same(const fetch_response& x, const fetch_response& y) {
  return x.status == y.status && x.headers == y.headers && x.body == y.body;
}

bool same(const object_id& x, const object_id& y) {
  return x == y && x.name() == y.name();
}

bool same(const echo_stub& x, const echo_stub& y) {
  return x == y;
}

// Same types in the same order (the bytes are compared by round_trip). Not
// to_string: CAF 0.17.6 deserializes a caf::duration with any unit byte and
// its to_string then reads out of bounds (fuzz/findings/caf_messages/), a
// CAF bug none of our code paths reaches (we never stringify messages).
bool same(const caf::message& x, const caf::message& y) {
  if (x.size() != y.size() || x.type_token() != y.type_token())
    return false;
  for (size_t i = 0; i < x.size(); ++i)
    if (x.type(i) != y.type(i))
      return false;
  return true;
}

using alarm_tuple = std::tuple<caf::atom_value, int64_t, uint32_t, bool>;

bool same(const alarm_tuple& x, const alarm_tuple& y) {
  return x == y;
}

// Deserializes a T from the input; if that works, checks the round trip.
template <class T>
void round_trip(std::string_view in, T* out = nullptr) {
  T x;
  if (load(in.data(), in.size(), x))
    return;
  auto buf = save(x);
  T y;
  auto err = load(buf.data(), buf.size(), y);
  FUZZ_CHECK(!err, "own output does not deserialize: " + to_string(err));
  FUZZ_CHECK(same(x, y), "round trip changes the value");
  FUZZ_CHECK(save(y) == buf, "serialization is not stable");
  if (out != nullptr)
    *out = std::move(x);
}

void check_stub(std::string_view in) {
  auto& w = the_world();
  echo_stub x;
  round_trip(in, &x);
  // Read the key back the way inspect wrote it, to know which namespace
  // the stub names.
  object_id id;
  std::string key;
  uint8_t hint = 0;
  caf::binary_deserializer src{w.sys, in.data(), in.size()};
  if (src(id, key, hint))
    return;
  // Only a stub of our namespace whose ID carries that namespace's MAC
  // loads; any other key or a forged ID leaves it empty.
  auto genuine = key == w.ns.key() &&
                 static_cast<bool>(w.ns.id_from_string(id.to_string()));
  FUZZ_CHECK(static_cast<bool>(x) == genuine,
             "stub bound to a namespace its key does not name, or forged");
  if (x)
    FUZZ_CHECK(x.id() == id, "stub ID differs from its bytes");
}

void check_message(std::string_view in) {
  // CAF 0.17.6 cannot take some types from hostile bytes
  // (fuzz/findings/caf_messages/): a std::vector<char> ("@charbuf") is sized
  // by its length field before CAF checks that the bytes exist; a
  // config_value with a bad variant index throws through a noexcept frame
  // (terminate); a floating-point infinity loads but never serializes again.
  // Messages of ours hold none of them. A message names the types of its
  // elements, at any depth, in plain text: skip those that name one.
  for (auto name : {"@charbuf", "@config_value", "float", "double", "@ldouble"})
    if (in.find(name) != std::string_view::npos)
      return;
  caf::message msg;
  if (caf::binary_deserializer{the_world().sys, in.data(), in.size()}(msg))
    return;
  round_trip(in, &msg);
  // An alarm as the runtime reads it.
  if (msg.match_elements<alarm_atom, int64_t, uint32_t, bool>()) {
    auto time = msg.get_as<int64_t>(1);
    auto failures = msg.get_as<uint32_t>(2);
    (void)time;
    (void)failures;
  }
  if (msg.match_elements<fetch_request>())
    FUZZ_CHECK(msg.get_as<fetch_request>(0).method.size() <= in.size(),
               "string longer than its input");
}

// Writes one serialized sample per kind into `dir` (the committed seeds:
// DURABLE_FUZZ_WRITE_SEEDS=fuzz/corpus/caf_messages fuzz_caf_messages_replay
// fuzz/corpus/caf_messages).
void write_seeds(const std::string& dir) {
  auto& w = the_world();
  auto id = w.ns.id_from_name("alice");
  fetch_request req;
  req.url = "/echo/alice?x=1";
  req.headers = {{"host", "x"}, {"x-a", "b"}};
  req.body = "hello";
  fetch_response resp = make_text_response(201, "ok");
  auto st = w.ns.get_by_name("bob");
  auto msg = caf::make_message(alarm_atom::value, int64_t{1700000000000},
                               uint32_t{2}, false);
  auto msg2 = caf::make_message(req, id);
  alarm_tuple alarm{alarm_atom::value, 5, 1, true};
  auto put = [&](uint8_t kind, const std::string& name, bytes buf) {
    buf.insert(buf.begin(), static_cast<char>(kind));
    std::ofstream out{dir + "/seed-" + name, std::ios::binary};
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  };
  put(0, "object-id", save(id));
  put(1, "fetch-request", save(req));
  put(2, "fetch-response", save(resp));
  put(3, "stub", save(st));
  put(4, "message-alarm", save(msg));
  put(4, "message-fetch", save(msg2));
  put(5, "alarm", save(alarm));
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (auto dir = std::getenv("DURABLE_FUZZ_WRITE_SEEDS"))
    write_seeds(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  the_world();
  durable::fuzz::input input{data, size};
  auto kind = input.byte();
  auto in = input.rest();
  switch (kind % 6) {
  case 0:
    round_trip<object_id>(in);
    break;
  case 1:
    round_trip<fetch_request>(in);
    break;
  case 2:
    round_trip<fetch_response>(in);
    break;
  case 3:
    check_stub(in);
    break;
  case 4:
    check_message(in);
    break;
  default:
    round_trip<alarm_tuple>(in);
  }
  return 0;
}
