// durable-admin as a real process: a deployment in this test prepares (and
// while open, holds) the data directory; the tool reads it, refuses to
// migrate it while it is held, and migrates it once it is free.

#define BOOST_TEST_MODULE admin
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "durable/errc.hpp"
#include "durable/namespace_registry.hpp"
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

struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

/// Runs durable-admin with `args`, output captured in files under `dir`.
run_result admin(const std::string& dir, std::vector<std::string> args) {
  auto out_path = dir + "/stdout";
  auto err_path = dir + "/stderr";
  std::vector<char*> argv;
  std::string binary = ADMIN_BINARY;
  argv.push_back(binary.data());
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0)
      ::_exit(127);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  run_result result;
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid)
    return result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  return result;
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

  run_result run(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--data-dir", data});
    return admin(work, std::move(args));
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
