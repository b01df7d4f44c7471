// Fuzzes the parsing of object IDs (id_factory::from_string, parse_hex_id)
// and of the deployment secret (deployment_secret::from_hex). The oracle:
// a string is accepted iff it is 64 hex digits whose lowercase form is an ID
// this namespace made; an accepted ID re-serialises to that lowercase form;
// the reject reason is invalid_id exactly when the text is malformed; an ID
// never verifies in another namespace.

#include <cctype>
#include <string>

#include "durable/errc.hpp"
#include "durable/hex.hpp"
#include "durable/id_factory.hpp"
#include "durable/object_id.hpp"
#include "durable/secret.hpp"
#include "fuzz_input.hpp"

namespace {

using namespace durable;

const deployment_secret& secret() {
  static auto s = deployment_secret::from_bytes(
      {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32});
  return s;
}

const id_factory& factory() {
  static id_factory f{secret(), "fuzz-namespace"};
  return f;
}

const id_factory& other_factory() {
  static id_factory f{secret(), "fuzz-namespace-2"};
  return f;
}

bool all_hex(std::string_view x) {
  for (auto c : x)
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

std::string lower(std::string_view x) {
  std::string result{x};
  for (auto& c : result)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

bool well_formed(std::string_view hex) {
  return hex.size() == 2 * object_id::size && all_hex(hex);
}

// Checks everything that must hold for `hex`, given `made`: the lowercase
// hex of an ID the factory made (empty if unknown).
void check_parse(std::string_view hex, const std::string& made) {
  object_id::bytes_type bytes;
  auto parsed = parse_hex_id(hex, bytes);
  FUZZ_CHECK(parsed == well_formed(hex), "parse_hex_id disagrees");
  auto r = factory().from_string(hex);
  if (!well_formed(hex)) {
    FUZZ_CHECK(!r && is(r.error(), errc::invalid_id),
               "malformed text not refused as invalid_id");
    return;
  }
  if (!made.empty())
    FUZZ_CHECK(static_cast<bool>(r) == (lower(hex) == made),
               "acceptance differs from 'is a case variant of a made ID'");
  if (!r) {
    FUZZ_CHECK(is(r.error(), errc::wrong_namespace),
               "well-formed ID refused for another reason than its MAC");
    return;
  }
  FUZZ_CHECK(r->to_string() == lower(hex), "accepted ID re-serialises "
                                           "differently");
  FUZZ_CHECK(to_string(*r) == r->to_string(), "to_string twins disagree");
  FUZZ_CHECK(r->bytes() == bytes, "from_string and parse_hex_id disagree");
  FUZZ_CHECK(r->name().empty(), "parsed ID carries a name");
  FUZZ_CHECK(factory().verify(*r), "accepted ID does not verify");
  FUZZ_CHECK(!other_factory().verify(*r), "ID verifies in another namespace");
  auto again = factory().from_string(r->to_string());
  FUZZ_CHECK(again && *again == *r, "round trip through to_string fails");
}

// Applies edits from `in` to `hex`: (position, replacement byte) pairs, or
// a truncation / extension.
std::string edit(std::string hex, durable::fuzz::input& in) {
  auto n = in.byte() % 8;
  for (int i = 0; i < n; ++i) {
    auto op = in.byte();
    auto pos = in.byte();
    auto c = static_cast<char>(in.byte());
    switch (op % 8) {
    case 0:
      hex.resize(pos % (hex.size() + 1));
      break;
    case 1:
      hex.insert(hex.begin() + pos % (hex.size() + 1), c);
      break;
    case 2: // flip the case of one digit: must still be accepted
      if (!hex.empty()) {
        auto& x = hex[pos % hex.size()];
        auto u = static_cast<unsigned char>(x);
        x = static_cast<char>(std::isupper(u) ? std::tolower(u)
                                              : std::toupper(u));
      }
      break;
    default:
      if (!hex.empty())
        hex[pos % hex.size()] = c;
    }
  }
  return hex;
}

jurisdiction pick_jurisdiction(uint8_t x) {
  return static_cast<jurisdiction>(x % 5);
}

void check_made(const object_id& id, jurisdiction j, durable::fuzz::input& in) {
  FUZZ_CHECK(factory().verify(id), "a made ID does not verify");
  FUZZ_CHECK(id.jurisdiction() == j, "jurisdiction not kept");
  auto hex = id.to_string();
  FUZZ_CHECK(well_formed(hex) && hex == lower(hex), "to_string not lowercase "
                                                    "hex");
  check_parse(edit(hex, in), hex);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  durable::fuzz::input in{data, size};
  switch (in.byte() % 4) {
  case 0: // arbitrary text
    check_parse(in.rest(), {});
    break;
  case 1: { // a named ID, then edited
    auto name = std::string{in.short_string()};
    auto j = pick_jurisdiction(in.byte());
    auto id = factory().from_name(name, j);
    FUZZ_CHECK(id.is_named() && id.name() == name, "name not kept");
    FUZZ_CHECK(id == factory().from_name(name, j), "from_name not stable");
    FUZZ_CHECK(id != other_factory().from_name(name, j),
               "same named ID in two namespaces");
    check_made(id, j, in);
    break;
  }
  case 2: { // a unique ID, then edited
    auto j = pick_jurisdiction(in.byte());
    auto id = factory().new_unique(j, in.u16());
    FUZZ_CHECK(static_cast<bool>(id), "new_unique failed");
    FUZZ_CHECK(!id->is_named(), "unique ID flagged as named");
    check_made(*id, j, in);
    break;
  }
  default: { // the deployment secret
    auto hex = in.rest();
    auto s = deployment_secret::from_hex(hex);
    auto ok = hex.size() == 2 * deployment_secret::size && all_hex(hex);
    FUZZ_CHECK(static_cast<bool>(s) == ok, "secret acceptance is wrong");
    if (s) {
      auto back = to_hex(s->bytes().data(), s->bytes().size());
      FUZZ_CHECK(back == lower(hex), "secret bytes differ from its hex");
    }
  }
  }
  return 0;
}
