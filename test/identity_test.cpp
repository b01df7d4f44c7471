#define BOOST_TEST_MODULE identity
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include <sys/stat.h>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "durable/errc.hpp"
#include "durable/id_factory.hpp"
#include "durable/object_id.hpp"
#include "durable/secret.hpp"

using namespace durable;

namespace {

constexpr const char* invalid_id_text =
    "Invalid Durable Object ID: must be 64 hex digits";
constexpr const char* wrong_ns_text =
    "Durable Object ID is not valid for this namespace.";

// The known-answer vectors below were computed independently with Python:
//   import hmac, hashlib
//   H = lambda k, m: hmac.new(k, m, hashlib.sha256).digest()
//   ns = H(bytes(range(32)), b"durable-namespace\0counter-ns")
//   seal = lambda b: (b + H(ns, b"mac\0" + b)[:16]).hex()
//   named = lambda n, c: seal(bytes([0x18|c]) + H(ns, b"name\0"
//                             + bytes([0x18|c]) + n)[:15])
//   named(b"alice", 0); named(b"alice", 1); named(b"", 4)
//   seal(bytes([0x12, 0x12, 0x34]) + bytes(range(0xa0, 0xad)))  # unique
//   seal(bytes([0x1d]) + bytes(15)); seal(bytes([0x28]) + bytes(15))
constexpr const char* alice_none =
    "18e20434e158d0cac446bea553287acf089e059fccd7314667d0ca29100445fc";
constexpr const char* alice_eu =
    "1984939fddf9b4944dd3711b80f261c7051f0aa4a3d9229b6fb245fd294ec803";
constexpr const char* empty_us =
    "1c5decf664379b95bcb149ba9c2e7c3868c6866d56b7d657d486af9fe3e355d8";
// Unique layout: fedramp (code 2), placement tag 0x1234, "random" a0..ac.
constexpr const char* unique_fedramp =
    "121234a0a1a2a3a4a5a6a7a8a9aaabacc8e5da51b3219a55a6ec8e89692f63d3";
// Valid MACs on byte 0 values no verified ID may have.
constexpr const char* mac_ok_code5 =
    "1d000000000000000000000000000000bb3ec5b2de75d9449385c4ef9ec0341b";
constexpr const char* mac_ok_format2 =
    "28000000000000000000000000000000ba5319460f030dbec711043b424013cd";

deployment_secret test_secret() {
  deployment_secret::bytes_type bytes;
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(i);
  return deployment_secret::from_bytes(bytes);
}

struct fixture {
  id_factory ids{test_secret(), "counter-ns"};

  void check_error(std::string_view hex, errc code, const char* text) {
    auto res = ids.from_string(hex);
    BOOST_REQUIRE(!res);
    BOOST_CHECK(is(res.error(), code));
    BOOST_CHECK_EQUAL(message_of(res.error()), text);
  }
};

std::string upper(std::string x) {
  for (auto& c : x)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return x;
}

// A fresh directory under /tmp, removed again at scope exit.
struct temp_dir {
  std::string path;

  temp_dir() {
    char tmpl[] = "/tmp/identity_test.XXXXXX";
    auto res = ::mkdtemp(tmpl);
    BOOST_REQUIRE(res != nullptr);
    path = res;
  }

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }

  void write(const std::string& file, size_t size, mode_t mode) {
    std::ofstream out{file, std::ios::binary};
    out << std::string(size, '\x7f');
    out.close();
    BOOST_REQUIRE_EQUAL(::chmod(file.c_str(), mode), 0);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(identity, fixture)

BOOST_AUTO_TEST_CASE(known_answer_vectors) {
  BOOST_CHECK_EQUAL(ids.from_name("alice", jurisdiction::none).to_string(),
                    alice_none);
  BOOST_CHECK_EQUAL(ids.from_name("alice", jurisdiction::eu).to_string(),
                    alice_eu);
  BOOST_CHECK_EQUAL(ids.from_name("", jurisdiction::us).to_string(), empty_us);
  auto unique = ids.from_string(unique_fedramp);
  BOOST_REQUIRE(unique);
  BOOST_CHECK(!unique->is_named());
  BOOST_CHECK(unique->jurisdiction() == jurisdiction::fedramp);
  BOOST_CHECK_EQUAL(unique->bytes()[1], 0x12);
  BOOST_CHECK_EQUAL(unique->bytes()[2], 0x34);
  check_error(mac_ok_code5, errc::wrong_namespace, wrong_ns_text);
  check_error(mac_ok_format2, errc::wrong_namespace, wrong_ns_text);
}

BOOST_AUTO_TEST_CASE(named_ids_are_deterministic) {
  auto a = ids.from_name("alice", jurisdiction::none);
  BOOST_CHECK(a == ids.from_name("alice", jurisdiction::none));
  BOOST_CHECK(a != ids.from_name("bob", jurisdiction::none));
  BOOST_CHECK(a != ids.from_name("alicf", jurisdiction::none));
  BOOST_CHECK(a != ids.from_name("alice", jurisdiction::eu));
  BOOST_CHECK_EQUAL(a.name(), "alice");
  BOOST_CHECK(a.is_named());
  BOOST_CHECK(a.jurisdiction() == jurisdiction::none);
  id_factory copy = ids; // copies share the key
  BOOST_CHECK(copy.from_name("alice", jurisdiction::none) == a);
  for (auto j : restricted_jurisdictions) {
    auto x = ids.from_name("alice", j);
    BOOST_CHECK(x.jurisdiction() == j);
    BOOST_CHECK(x.is_named());
    BOOST_CHECK(x != a);
    BOOST_CHECK(ids.verify(x));
  }
  // A name with an embedded NUL differs from its prefix.
  using namespace std::literals;
  BOOST_CHECK(ids.from_name("a\0b"sv, jurisdiction::none) !=
              ids.from_name("a", jurisdiction::none));
}

BOOST_AUTO_TEST_CASE(string_round_trip) {
  auto a = ids.from_name("alice", jurisdiction::eu);
  auto hex = a.to_string();
  BOOST_CHECK_EQUAL(hex.size(), 64u);
  BOOST_CHECK(std::none_of(hex.begin(), hex.end(), [](char c) {
    return std::isupper(static_cast<unsigned char>(c));
  }));
  BOOST_CHECK_EQUAL(to_string(a), hex);
  auto parsed = ids.from_string(hex);
  BOOST_REQUIRE(parsed);
  BOOST_CHECK(*parsed == a);
  BOOST_CHECK(parsed->name().empty()); // the name cannot be recovered
  BOOST_CHECK(parsed->is_named());
  BOOST_CHECK(parsed->jurisdiction() == jurisdiction::eu);
  auto from_upper = ids.from_string(upper(hex));
  BOOST_REQUIRE(from_upper);
  BOOST_CHECK(*from_upper == a);
  BOOST_CHECK_EQUAL(from_upper->to_string(), hex);
  BOOST_CHECK_EQUAL(object_id{}.to_string(), std::string(64, '0'));
}

BOOST_AUTO_TEST_CASE(malformed_strings) {
  auto hex = ids.from_name("alice", jurisdiction::none).to_string();
  check_error("", errc::invalid_id, invalid_id_text);
  check_error(hex.substr(0, 63), errc::invalid_id, invalid_id_text);
  check_error(hex + "0", errc::invalid_id, invalid_id_text);
  check_error(" " + hex.substr(1), errc::invalid_id, invalid_id_text);
  for (char bad : {'g', 'G', 'x', ' ', '-', '\0', '\xff'}) {
    auto x = hex;
    x[17] = bad;
    check_error(x, errc::invalid_id, invalid_id_text);
  }
  check_error(std::string(64, '0'), errc::wrong_namespace, wrong_ns_text);
}

BOOST_AUTO_TEST_CASE(foreign_ids) {
  id_factory other_ns{test_secret(), "other-ns"};
  auto other_secret_bytes = test_secret().bytes();
  other_secret_bytes[31] ^= 1;
  id_factory other_secret{deployment_secret::from_bytes(other_secret_bytes),
                          "counter-ns"};
  for (auto* other : {&other_ns, &other_secret}) {
    auto named = other->from_name("alice", jurisdiction::none);
    BOOST_CHECK(named != ids.from_name("alice", jurisdiction::none));
    BOOST_CHECK(!ids.verify(named));
    check_error(named.to_string(), errc::wrong_namespace, wrong_ns_text);
    auto unique = other->new_unique(jurisdiction::eu);
    BOOST_REQUIRE(unique);
    BOOST_CHECK(other->verify(*unique));
    check_error(unique->to_string(), errc::wrong_namespace, wrong_ns_text);
  }
}

BOOST_AUTO_TEST_CASE(single_bit_flips) {
  auto unique = ids.new_unique(jurisdiction::us, 7);
  BOOST_REQUIRE(unique);
  for (auto& id : {ids.from_name("alice", jurisdiction::eu), *unique}) {
    for (size_t bit = 0; bit < object_id::size * 8; ++bit) {
      auto bytes = id.bytes();
      bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      object_id flipped{bytes};
      BOOST_CHECK(!ids.verify(flipped));
      check_error(flipped.to_string(), errc::wrong_namespace, wrong_ns_text);
    }
  }
}

BOOST_AUTO_TEST_CASE(random_strings_are_rejected) {
  std::mt19937_64 rng{0x5eed1d5};
  size_t accepted = 0;
  size_t wrong_code = 0;
  for (size_t i = 0; i < 1'000'000; ++i) {
    object_id::bytes_type bytes;
    for (size_t j = 0; j < bytes.size(); j += 8) {
      auto x = rng();
      for (size_t k = 0; k < 8; ++k)
        bytes[j + k] = static_cast<uint8_t>(x >> (8 * k));
    }
    auto res = ids.from_string(object_id{bytes}.to_string());
    if (res)
      ++accepted;
    else if (!is(res.error(), errc::wrong_namespace))
      ++wrong_code;
  }
  BOOST_CHECK_EQUAL(accepted, 0u);
  BOOST_CHECK_EQUAL(wrong_code, 0u);
}

BOOST_AUTO_TEST_CASE(unique_ids) {
  std::unordered_set<object_id> seen;
  constexpr size_t n = 100'000;
  seen.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto j = static_cast<jurisdiction>(i % 5);
    auto tag = static_cast<uint16_t>(i * 7919);
    auto id = ids.new_unique(j, tag);
    BOOST_REQUIRE(id);
    BOOST_REQUIRE(seen.insert(*id).second);
    BOOST_REQUIRE(ids.verify(*id));
    BOOST_REQUIRE(!id->is_named());
    BOOST_REQUIRE(id->name().empty());
    BOOST_REQUIRE(id->jurisdiction() == j);
    BOOST_REQUIRE_EQUAL(id->bytes()[0], 0x10 | static_cast<int>(j));
    BOOST_REQUIRE_EQUAL(id->bytes()[1], tag >> 8);
    BOOST_REQUIRE_EQUAL(id->bytes()[2], tag & 0xFF);
  }
  BOOST_CHECK_EQUAL(seen.size(), n);
}

BOOST_AUTO_TEST_CASE(value_semantics) {
  auto a = ids.from_name("alice", jurisdiction::none);
  object_id nameless{a.bytes()};
  BOOST_CHECK(a == nameless); // the name is not part of the identity
  BOOST_CHECK(!(a != nameless));
  BOOST_CHECK(!(a < nameless) && !(nameless < a));
  BOOST_CHECK_EQUAL(a.hash(), nameless.hash());
  BOOST_CHECK_EQUAL(std::hash<object_id>{}(a), a.hash());
  auto b = ids.from_name("bob", jurisdiction::none);
  BOOST_CHECK(a != b);
  BOOST_CHECK((a < b) != (b < a));
  BOOST_CHECK(!ids.verify(object_id{}));
  BOOST_CHECK(object_id{}.jurisdiction() == jurisdiction::none);
  // Code 5..7 in byte 0 reads back as none.
  object_id::bytes_type bytes{};
  bytes[0] = 0x17;
  BOOST_CHECK(object_id{bytes}.jurisdiction() == jurisdiction::none);
}

BOOST_AUTO_TEST_CASE(serialization) {
  auto named = ids.from_name("alice", jurisdiction::eu);
  auto unique = ids.new_unique(jurisdiction::none);
  BOOST_REQUIRE(unique);
  for (auto& x : {named, *unique}) {
    std::vector<char> buf;
    caf::binary_serializer sink{nullptr, buf};
    auto copy = x;
    BOOST_REQUIRE(!sink(copy));
    object_id y;
    caf::binary_deserializer source{nullptr, buf};
    BOOST_REQUIRE(!source(y));
    BOOST_CHECK(y == x);
    BOOST_CHECK_EQUAL(y.name(), x.name());
    BOOST_CHECK_EQUAL(source.remaining(), 0u);
  }
  auto msg = caf::make_message(named);
  BOOST_REQUIRE(msg.match_elements<object_id>());
  BOOST_CHECK(msg.get_as<object_id>(0) == named);
  BOOST_CHECK_EQUAL(msg.get_as<object_id>(0).name(), "alice");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(secret)

BOOST_AUTO_TEST_CASE(load_or_create) {
  temp_dir dir;
  // Missing parents are created as well.
  auto path = dir.path + "/data/keys/secret";
  auto first = deployment_secret::load_or_create(path);
  BOOST_REQUIRE_MESSAGE(first, (first ? "" : message_of(first.error())));
  struct stat st;
  BOOST_REQUIRE_EQUAL(::stat(path.c_str(), &st), 0);
  BOOST_CHECK_EQUAL(st.st_mode & 0777, 0600u);
  BOOST_CHECK_EQUAL(st.st_size, 32);
  BOOST_CHECK(first->bytes() != deployment_secret::bytes_type{});
  auto second = deployment_secret::load_or_create(path);
  BOOST_REQUIRE(second);
  BOOST_CHECK(first->bytes() == second->bytes());
  // No temporary file is left behind.
  size_t entries = 0;
  for ([[maybe_unused]] auto& entry :
       std::filesystem::directory_iterator(dir.path + "/data/keys"))
    ++entries;
  BOOST_CHECK_EQUAL(entries, 1u);
  // Another path gives another secret.
  auto other = deployment_secret::load_or_create(dir.path + "/other");
  BOOST_REQUIRE(other);
  BOOST_CHECK(first->bytes() != other->bytes());
}

BOOST_AUTO_TEST_CASE(bad_files) {
  temp_dir dir;
  for (size_t size : {0, 31, 33}) {
    auto path = dir.path + "/size" + std::to_string(size);
    dir.write(path, size, 0600);
    auto res = deployment_secret::load_or_create(path);
    BOOST_REQUIRE(!res);
    BOOST_CHECK(is(res.error(), errc::invalid_argument));
    BOOST_CHECK(message_of(res.error()).find(path) != std::string::npos);
  }
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    auto path = dir.path + "/mode" + std::to_string(mode);
    dir.write(path, 32, mode);
    auto res = deployment_secret::load_or_create(path);
    BOOST_REQUIRE(!res);
    BOOST_CHECK(is(res.error(), errc::invalid_argument));
    auto text = message_of(res.error());
    BOOST_CHECK(text.find(path) != std::string::npos);
    BOOST_CHECK(text.find('\x7f') == std::string::npos); // never the content
  }
  auto res = deployment_secret::load_or_create(dir.path); // a directory
  BOOST_CHECK(!res);
  BOOST_CHECK(!deployment_secret::load_or_create(""));
}

BOOST_AUTO_TEST_CASE(from_hex) {
  std::string hex = "000102030405060708090a0b0c0d0e0f"
                    "101112131415161718191A1B1C1D1E1F";
  auto x = deployment_secret::from_hex(hex);
  BOOST_REQUIRE(x);
  BOOST_CHECK(x->bytes() == test_secret().bytes());
  for (std::string bad : {std::string{}, hex.substr(1), hex + "0",
                          "zz" + hex.substr(2), std::string(64, ' ')}) {
    auto res = deployment_secret::from_hex(bad);
    BOOST_REQUIRE(!res);
    BOOST_CHECK(is(res.error(), errc::invalid_argument));
    if (!bad.empty())
      BOOST_CHECK(message_of(res.error()).find(bad) == std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
