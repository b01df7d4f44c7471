// durable-admin as a real process: a deployment in this test prepares (and
// while open, holds) the data directory; the tool reads it, refuses to
// migrate it while it is held, and migrates it once it is free.

#define BOOST_TEST_MODULE admin
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "durable/errc.hpp"
#include "durable/namespace_registry.hpp"
#include "process.hpp"
#include "test_objects.hpp"

#ifndef ADMIN_BINARY
#error "ADMIN_BINARY must name the durable-admin executable"
#endif

using namespace std::chrono_literals;
using durable::jurisdiction;
using test::temp_dir;

namespace {

using put_atom = caf::atom_constant<caf::atom("put")>;
using arm_atom = caf::atom_constant<caf::atom("arm")>;

using stash_api = caf::typed_actor<
    caf::replies_to<put_atom, std::string, std::string>::with<bool>,
    caf::replies_to<arm_atom, int64_t>::with<bool>>;

class stash : public durable::object<stash_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](put_atom, const std::string& k, const std::string& v) {
          return !storage().put(k, v);
        },
        [this](arm_atom, int64_t t) { return !storage().set_alarm(t); },
    };
  }
};

// 2096-10-02T07:06:40.123Z: never fires during the test.
constexpr int64_t far_alarm = 4'000'000'000'123;

using test::run_result;

/// Runs durable-admin with `args`, output captured in files under `dir`.
run_result admin(const std::string& dir, std::vector<std::string> args,
                 std::vector<std::string> env = {}, unsigned timeout_s = 60) {
  args.insert(args.begin(), ADMIN_BINARY);
  return test::run_process(std::move(args), dir, std::move(env), timeout_s);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// A data directory with a secret file and a few objects of namespace
/// "stash": alice (global: a short key, a long value, an alarm) and bob (eu).
struct prepared {
  temp_dir tmp;
  std::string data;
  std::string work; // where the tool's output and migration files go
  std::string alice_hex;
  std::string bob_hex;
  std::string ns_id;

  prepared() : data(tmp.path + "/data"), work(tmp.path) {
    // nop
  }

  durable::settings settings() const {
    durable::settings cfg;
    cfg.data_dir = data; // secret file created at <data>/secret
    return cfg;
  }

  run_result run(std::vector<std::string> args,
                 std::vector<std::string> env = {},
                 unsigned timeout_s = 60) const {
    args.insert(args.begin(), {"--data-dir", data});
    return admin(work, std::move(args), std::move(env), timeout_s);
  }

  void write(const std::string& name, const std::string& text) const {
    std::ofstream{work + "/" + name} << text;
  }

  void fill(test::fixture& fx) {
    auto ns = fx.bind<stash>("stash");
    auto alice = ns.get_by_name("alice");
    BOOST_REQUIRE(*alice.call(5s, put_atom::value, "greeting",
                              std::string{"hello\n\x01", 7}));
    BOOST_REQUIRE(
        *alice.call(5s, put_atom::value, "long", std::string(200, 'L')));
    BOOST_REQUIRE(*alice.call(5s, arm_atom::value, far_alarm));
    auto bob = ns.jurisdiction(jurisdiction::eu).get_by_name("bob");
    BOOST_REQUIRE(*bob.call(5s, put_atom::value, "k", "v"));
    alice_hex = ns.id_from_name("alice").to_string();
    bob_hex = ns.jurisdiction(jurisdiction::eu).id_from_name("bob").to_string();
    ns_id = ns.key();
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(reads_a_data_directory_a_deployment_holds) {
  prepared p;
  test::fixture fx{p.settings()};
  p.fill(fx);
  // namespaces list: human and the REST envelope.
  auto list = p.run({"namespaces", "list"});
  BOOST_CHECK_EQUAL(list.code, 0);
  BOOST_CHECK(contains(list.out, p.ns_id + "  stash"));
  BOOST_CHECK(contains(list.out, "1 namespaces in total"));
  auto json = p.run({"namespaces", "list", "--json", "--per-page", "5"});
  BOOST_CHECK_EQUAL(json.code, 0);
  BOOST_CHECK_EQUAL(json.out,
                    durable::to_json(*fx.dep.registry().list(1, 5)) + "\n");
  auto bad_page = p.run({"namespaces", "list", "--per-page=101"});
  BOOST_CHECK_EQUAL(bad_page.code, 2);
  BOOST_CHECK(contains(bad_page.err, "per_page must be between 1 and 100"));
  // IDs.
  auto from_name = p.run({"id", "from-name", "stash", "alice"});
  BOOST_CHECK_EQUAL(from_name.code, 0);
  BOOST_CHECK_EQUAL(from_name.out, p.alice_hex + "\n");
  auto eu = p.run(
      {"id", "from-name", "stash", "bob", "--jurisdiction", "eu", "--json"});
  BOOST_CHECK_EQUAL(eu.code, 0);
  BOOST_CHECK(contains(eu.out, "\"id\":\"" + p.bob_hex + "\""));
  BOOST_CHECK(contains(eu.out, "\"jurisdiction\":\"eu\""));
  // Names are bytes: what is not UTF-8 shows as U+FFFD in --json output.
  auto odd =
      p.run({"id", "from-name", "stash", "caf\xff\x01\xc3\xa9", "--json"});
  BOOST_CHECK_EQUAL(odd.code, 0);
  auto odd_doc = nlohmann::json::parse(odd.out, nullptr, false);
  BOOST_REQUIRE_MESSAGE(odd_doc.is_object(), odd.out);
  BOOST_CHECK_EQUAL(odd_doc["name"].get<std::string>(),
                    "caf\xef\xbf\xbd\x01\xc3\xa9");
  BOOST_CHECK_EQUAL(
      odd_doc["id"].get<std::string>() + "\n",
      p.run({"id", "from-name", "stash", "caf\xff\x01\xc3\xa9"}).out);
  BOOST_CHECK_EQUAL(
      p.run({"id", "from-name", "stash", "x", "--jurisdiction", "mars"}).code,
      2);
  auto check = p.run({"id", "check", "stash", p.bob_hex});
  BOOST_CHECK_EQUAL(check.code, 0);
  BOOST_CHECK(contains(check.out, "valid named ID"));
  BOOST_CHECK(contains(check.out, "jurisdiction eu"));
  auto tampered = p.bob_hex;
  tampered[40] = tampered[40] == '0' ? '1' : '0';
  auto forged = p.run({"id", "check", "stash", tampered, "--json"});
  BOOST_CHECK_EQUAL(forged.code, 2);
  BOOST_CHECK(contains(forged.out, "\"valid\":false"));
  BOOST_CHECK(contains(forged.err, "not valid for this namespace"));
  BOOST_CHECK_EQUAL(p.run({"id", "check", "stash", "xyz"}).code, 2);
  auto unknown = p.run({"id", "check", "nosuch", p.bob_hex});
  BOOST_CHECK_EQUAL(unknown.code, 2);
  BOOST_CHECK(contains(unknown.err, "unknown namespace \"nosuch\""));
  // object show: keys with sizes, values escaped and truncated, the alarm.
  auto show = p.run({"object", "show", "stash", "alice"});
  BOOST_CHECK_EQUAL(show.code, 0);
  BOOST_CHECK(contains(show.out, "object " + p.alice_hex));
  BOOST_CHECK(contains(show.out, "\"greeting\"  7 bytes  \"hello\\n\\x01\""));
  BOOST_CHECK(contains(show.out, "\"long\"  200 bytes  \"" +
                                     std::string(64, 'L') + "\"..."));
  BOOST_CHECK(contains(show.out, "2096-10-02T07:06:40.123Z"));
  auto by_id =
      p.run({"object", "show", "stash", p.bob_hex, "--json", "--max-value=0"});
  BOOST_CHECK_EQUAL(by_id.code, 0);
  BOOST_CHECK(contains(by_id.out, "\"jurisdiction\":\"eu\""));
  BOOST_CHECK(contains(by_id.out, "\"key\":\"k\",\"key_hex\":\"6b\","
                                  "\"key_size\":1,\"value\":\"\","
                                  "\"value_size\":1,\"value_truncated\":true"));
  BOOST_CHECK(contains(by_id.out, "\"alarm\":null"));
  auto alarm_json = p.run({"object", "show", "stash", "alice", "--json"});
  BOOST_CHECK(contains(alarm_json.out,
                       "\"alarm\":{\"time_ms\":" + std::to_string(far_alarm)));
  BOOST_CHECK(contains(alarm_json.out, "\"value\":\"hello\\\\n\\\\x01\""));
  auto limited = p.run({"object", "show", "stash", "alice", "--limit", "1"});
  BOOST_CHECK(contains(limited.out, "keys (first 1)"));
  BOOST_CHECK(!contains(limited.out, "\"long\""));
  auto nobody = p.run({"object", "show", "stash", "nobody"});
  BOOST_CHECK_EQUAL(nobody.code, 0);
  BOOST_CHECK(contains(nobody.out, "no stored keys"));
  BOOST_CHECK_EQUAL(p.run({"object", "show", "stash", tampered}).code, 2);
  // stats: objects and bytes per namespace and jurisdiction.
  auto stats = p.run({"stats", "--json"});
  BOOST_CHECK_EQUAL(stats.code, 0);
  BOOST_CHECK(contains(stats.out, "{\"jurisdiction\":\"eu\",\"namespaces\":[{"
                                  "\"name\":\"stash\",\"key\":\"" +
                                      p.ns_id +
                                      "\",\"number\":1,\"objects\":1,"
                                      "\"keys\":1,"));
  BOOST_CHECK(contains(stats.out, "\"total\":{\"objects\":2,\"keys\":3,"));
  auto table = p.run({"stats"});
  BOOST_CHECK_EQUAL(table.code, 0);
  BOOST_CHECK(contains(table.out, "global        stash"));
  BOOST_CHECK(contains(table.out, "eu            stash"));
  // Writes are refused while the deployment holds the directory.
  p.write("rename.json",
          R"([{"tag": "v1", "renamed_classes": [{"from": "stash",
                                                 "to": "renamed"}]}])");
  auto busy = p.run({"migrate", p.work + "/rename.json"});
  BOOST_CHECK_EQUAL(busy.code, 4);
  BOOST_CHECK(contains(busy.err, "running server"));
  BOOST_CHECK(*fx.dep.registry().find("stash"));
  BOOST_CHECK(fx.dep.registry().applied()->empty());
}

BOOST_AUTO_TEST_CASE(migrates_a_free_data_directory) {
  prepared p;
  {
    test::fixture fx{p.settings()};
    p.fill(fx);
  }
  p.write("rename.json", R"({"script": "tool", "migrations": [
    {"tag": "v1", "renamed_classes": [{"from": "stash", "to": "renamed"}]},
    {"tag": "v2", "new_classes": ["extra"]}]})");
  auto first = p.run({"migrate", p.work + "/rename.json"});
  BOOST_CHECK_EQUAL(first.code, 0);
  BOOST_CHECK_EQUAL(first.out, "applied v1\napplied v2\n");
  auto again = p.run({"migrate", p.work + "/rename.json", "--json"});
  BOOST_CHECK_EQUAL(again.code, 0);
  BOOST_CHECK_EQUAL(again.out, "{\"applied\":[],\"skipped\":[\"v1\",\"v2\"],"
                               "\"deleted\":[]}\n");
  auto list = p.run({"namespaces", "list", "--json"});
  BOOST_CHECK(contains(list.out, "{\"id\":\"" + p.ns_id +
                                     "\",\"name\":\"renamed\",\"script\":\"\","
                                     "\"class\":\"renamed\"}"));
  BOOST_CHECK(contains(list.out, "\"name\":\"extra\",\"script\":\"tool\""));
  // Same ID, same data under the new name.
  auto id = p.run({"id", "from-name", "renamed", "alice"});
  BOOST_CHECK_EQUAL(id.out, p.alice_hex + "\n");
  auto show = p.run({"object", "show", "renamed", "alice"});
  BOOST_CHECK(contains(show.out, "\"greeting\"  7 bytes"));
  // Rejected migrations change nothing and say why.
  p.write("bad.json", R"([{"tag": "v3", "deleted_classes": ["nosuch"]}])");
  auto bad = p.run({"migrate", p.work + "/bad.json"});
  BOOST_CHECK_EQUAL(bad.code, 2);
  BOOST_CHECK(contains(bad.err, "cannot delete class \"nosuch\""));
  p.write("broken.json", "[{\"tag\": \"v3\",");
  auto broken = p.run({"migrate", p.work + "/broken.json"});
  BOOST_CHECK_EQUAL(broken.code, 2);
  BOOST_CHECK(contains(broken.err, "invalid JSON at line 1"));
  BOOST_CHECK_EQUAL(p.run({"migrate", p.work + "/none.json"}).code, 2);
  // A deletion removes the data in every jurisdiction.
  p.write("delete.json", R"([{"tag": "v1"}, {"tag": "v2"},
                             {"tag": "v3", "deleted_classes": ["renamed"]}])");
  auto del = p.run({"migrate", p.work + "/delete.json"});
  BOOST_CHECK_EQUAL(del.code, 0);
  BOOST_CHECK(contains(del.out, "applied v3\ndeleted class renamed: removed 2 "
                                "objects, 3 keys"));
  BOOST_CHECK(contains(del.out, "1 alarms"));
  auto stats = p.run({"stats", "--json"});
  BOOST_CHECK(contains(stats.out, "\"total\":{\"objects\":0,\"keys\":0,"
                                  "\"bytes\":0,\"alarms\":0}}\n"));
  BOOST_CHECK_EQUAL(p.run({"id", "check", "renamed", p.alice_hex}).code, 2);
}

BOOST_AUTO_TEST_CASE(usage_errors_and_missing_inputs) {
  prepared p;
  BOOST_CHECK_EQUAL(admin(p.work, {}).code, 1);
  auto unknown = admin(p.work, {"frobnicate"});
  BOOST_CHECK_EQUAL(unknown.code, 1);
  BOOST_CHECK(contains(unknown.err, "unknown command 'frobnicate'"));
  BOOST_CHECK_EQUAL(admin(p.work, {"namespaces", "list", "--page", "x"}).code,
                    1);
  BOOST_CHECK_EQUAL(admin(p.work, {"stats", "--page", "2"}).code, 1);
  BOOST_CHECK_EQUAL(admin(p.work, {"id", "check", "only-one"}).code, 1);
  BOOST_CHECK_EQUAL(admin(p.work, {"stats", "--bogus"}).code, 1);
  auto help = admin(p.work, {"--help"});
  BOOST_CHECK_EQUAL(help.code, 0);
  BOOST_CHECK(contains(help.out, "Exit codes"));
  BOOST_CHECK(contains(help.out, "restore <backup> <data-dir>"));
  // Options are CAF config options: CAF renders each command's list...
  auto list_help = admin(p.work, {"namespaces", "list", "--help"});
  BOOST_CHECK_EQUAL(list_help.code, 0);
  BOOST_CHECK_MESSAGE(contains(list_help.out, "--per-page=<int64>") &&
                          contains(list_help.out, "--data-dir=<string>"),
                      list_help.out);
  // ... and checks types and ranges; the errors say what is wrong.
  auto usage = [&](std::vector<std::string> args, const std::string& text) {
    auto res = admin(p.work, std::move(args));
    BOOST_CHECK_EQUAL(res.code, 1);
    BOOST_CHECK_MESSAGE(contains(res.err, text), res.err);
  };
  usage({"object", "show", "a", "b", "--limit=99999999999999999999"},
        "option --limit: 99999999999999999999 is out of range for a 64-bit "
        "integer");
  usage({"object", "show", "a", "b", "--limit", "-99999999999999999999"},
        "is out of range");
  usage({"namespaces", "list", "--page", "x"},
        "option --page needs a value of type int64, got 'x'");
  usage({"namespaces", "list", "--page"}, "option --page needs a value");
  usage({"stats", "--page", "2"}, "option --page does not apply to 'stats'");
  usage({"stats", "--json=yes"}, "option --json takes no value");
  usage({"stats", "--json", "--json"}, "option --json given twice");
  usage({"stats", "--bogus"}, "unknown option --bogus");
  usage({"--data-dir=", "stats"}, "option --data-dir needs a value");
  usage({"stats", "extra"}, "'stats' takes 0 argument(s)");
  // `--` ends the options: a name that starts with a dash.
  auto dashed = admin(p.work, {"--data-dir", p.data, "id", "check", "--",
                               "stash", "--not-an-option"});
  BOOST_CHECK_EQUAL(dashed.code, 2);
  BOOST_CHECK(contains(dashed.err, "no data directory"));
  // No data directory: reported, never created.
  auto missing = p.run({"stats"});
  BOOST_CHECK_EQUAL(missing.code, 2);
  BOOST_CHECK(contains(missing.err, "no data directory"));
  BOOST_CHECK(!std::ifstream{p.data + "/global/data.mdb"});
  {
    test::fixture fx{p.settings()};
    p.fill(fx);
  }
  // No secret: IDs cannot be derived (listing still works).
  auto no_secret = p.run({"id", "from-name", "stash", "alice", "--secret-file",
                          p.work + "/nosecret"});
  BOOST_CHECK_EQUAL(no_secret.code, 2);
  BOOST_CHECK(contains(no_secret.err, "no deployment secret"));
  BOOST_CHECK_EQUAL(p.run({"namespaces", "list"}).code, 0);
}

namespace {

/// Opens a deployment on `p`'s data directory in this process and returns
/// the error, if any.
caf::error open_deployment(const prepared& p) {
  durable::config cfg;
  caf::actor_system sys{cfg};
  auto dep = durable::deployment::open(sys, p.settings());
  return dep ? caf::error{} : std::move(dep.error());
}

void write_file(const std::string& path, const std::string& bytes,
                off_t offset) {
  int fd = ::open(path.c_str(), O_WRONLY);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE_EQUAL(::pwrite(fd, bytes.data(), bytes.size(), offset),
                      static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

} // namespace

BOOST_AUTO_TEST_CASE(unreadable_environments_are_errors_not_empty) {
  prepared p;
  {
    test::fixture fx{p.settings()};
    p.fill(fx);
  }
  BOOST_REQUIRE_EQUAL(p.run({"stats"}).code, 0);
  // eu's data file cannot be read (a symlink loop: the tests may run as
  // root, who reads any file regardless of its mode).
  auto eu_data = p.data + "/eu/data.mdb";
  BOOST_REQUIRE_EQUAL(::rename(eu_data.c_str(), (eu_data + ".bak").c_str()), 0);
  BOOST_REQUIRE_EQUAL(::symlink("data.mdb", eu_data.c_str()), 0);
  for (auto cmd : std::vector<std::vector<std::string>>{
           {"stats"},
           {"namespaces", "list"},
           {"object", "show", "stash", "bob", "--jurisdiction", "eu"}}) {
    auto res = p.run(cmd);
    BOOST_CHECK_EQUAL(res.code, 3);
    BOOST_CHECK_MESSAGE(contains(res.err, eu_data), res.err);
  }
  BOOST_REQUIRE_EQUAL(::unlink(eu_data.c_str()), 0);
  // The data file is gone from an environment that was initialised.
  auto gone = p.run({"stats"});
  BOOST_CHECK_EQUAL(gone.code, 3);
  BOOST_CHECK(contains(gone.err, "missing although"));
  BOOST_REQUIRE_EQUAL(::rename((eu_data + ".bak").c_str(), eu_data.c_str()), 0);
  BOOST_CHECK_EQUAL(p.run({"stats"}).code, 0);
}

BOOST_AUTO_TEST_CASE(corrupt_data_files_are_refused_not_mapped) {
  prepared p;
  {
    test::fixture fx{p.settings()};
    auto ns = fx.bind<stash>("stash");
    // Large values (overflow pages): a data file well beyond 22 KiB.
    for (int i = 0; i < 4; ++i)
      BOOST_REQUIRE(*ns.get_by_name("big").call(5s, put_atom::value,
                                                "v" + std::to_string(i),
                                                std::string(100000, 'x')));
  }
  auto file = p.data + "/global/data.mdb";
  auto pristine = test::slurp(file);
  BOOST_REQUIRE_GT(pristine.size(), 300'000u);
  auto restore = [&] {
    std::ofstream{file, std::ios::binary | std::ios::trunc} << pristine;
  };
  struct corruption {
    std::string what;
    std::function<void()> apply;
    std::string expected;
  };
  auto truncate_to = [&](off_t size) {
    return
        [&, size] { BOOST_REQUIRE_EQUAL(::truncate(file.c_str(), size), 0); };
  };
  std::vector<corruption> cases{
      {"truncated to 8 KiB", truncate_to(8192), "is truncated"},
      {"truncated to 16 KiB", truncate_to(16384), "is truncated"},
      {"truncated to 22 KiB", truncate_to(22528), "is truncated"},
      {"truncated inside meta page 1", truncate_to(4200), "meta page 1"},
      {"empty", truncate_to(0), "is empty although"},
      {"meta page 0 overwritten",
       [&] { write_file(file, std::string(4096, '\xab'), 0); }, "meta page 0"},
      {"meta page 1 overwritten",
       [&] { write_file(file, std::string(4096, '\0'), 4096); }, "meta page 1"},
  };
  for (auto& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      restore();
      c.apply();
      // The admin tool: a storage failure (exit 3), no SIGBUS.
      auto res = p.run({"stats"});
      BOOST_CHECK_EQUAL(res.code, 3);
      BOOST_CHECK_MESSAGE(
          contains(res.err, file) && contains(res.err, c.expected), res.err);
      // The server: refuses to open, neither crashes nor starts empty.
      auto err = open_deployment(p);
      BOOST_CHECK(durable::is(err, durable::errc::storage_failure));
      BOOST_CHECK_MESSAGE(contains(durable::message_of(err), c.expected),
                          durable::message_of(err));
    }
  }
  restore();
  BOOST_CHECK_EQUAL(p.run({"stats"}).code, 0);
  BOOST_CHECK(!open_deployment(p));
}

BOOST_AUTO_TEST_CASE(migration_files_are_checked_before_reading) {
  prepared p;
  {
    test::fixture fx{p.settings()};
    p.fill(fx);
  }
  // A device that never ends: refused before reading (was bad_alloc).
  auto zero = p.run({"migrate", "/dev/zero"}, {}, 20);
  BOOST_CHECK_EQUAL(zero.code, 2);
  BOOST_CHECK(contains(zero.err, "not a regular file"));
  // A FIFO without a writer: refused at once (used to hang; the watchdog
  // ends the child after 20 s).
  auto fifo = p.work + "/fifo.json";
  BOOST_REQUIRE_EQUAL(::mkfifo(fifo.c_str(), 0600), 0);
  auto hung = p.run({"migrate", fifo}, {}, 20);
  BOOST_CHECK_EQUAL(hung.code, 2);
  BOOST_CHECK(contains(hung.err, "not a regular file"));
  // Too large: refused by its size (a sparse file: nothing is read).
  auto big = p.work + "/big.json";
  p.write("big.json", "[]");
  BOOST_REQUIRE_EQUAL(::truncate(big.c_str(), (off_t{16} << 20) + 1), 0);
  auto large = p.run({"migrate", big});
  BOOST_CHECK_EQUAL(large.code, 2);
  BOOST_CHECK(contains(large.err, "larger than 16 MiB"));
}

BOOST_AUTO_TEST_CASE(numeric_options_are_bounded) {
  prepared p;
  {
    test::fixture fx{p.settings()};
    p.fill(fx);
  }
  for (auto opt :
       {"--limit=9223372036854775807", "--limit=0", "--limit=1000001",
        "--max-value=9223372036854775807", "--max-value=-1"}) {
    auto res = p.run({"object", "show", "stash", "alice", opt});
    BOOST_CHECK_MESSAGE(res.code == 1, opt << ": " << res.code);
    BOOST_CHECK(contains(res.err, "--limit must be between 1 and 1000000"));
  }
  auto fine = p.run({"object", "show", "stash", "alice", "--limit=1000000",
                     "--max-value=131072"});
  BOOST_CHECK_EQUAL(fine.code, 0);
  BOOST_CHECK(contains(fine.out, std::string(200, 'L')));
}
