// The deployment secret: never printed (config dumps, errors), taken from a
// file or the environment instead of an option, recorded by fingerprint so
// that a lost or different secret is refused, and adopted only explicitly.

#define BOOST_TEST_MODULE secret
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "durable/errc.hpp"
#include "durable/secret.hpp"
#include "durable/secret_fingerprint.hpp"
#include "process.hpp"
#include "test_objects.hpp"

#ifndef ADMIN_BINARY
#error "ADMIN_BINARY must name the durable-admin executable"
#endif
#ifndef COUNTER_BINARY
#error "COUNTER_BINARY must name the counter example"
#endif

using namespace std::chrono_literals;
using durable::errc;
using test::temp_dir;

namespace {

using inc_atom = caf::atom_constant<caf::atom("inc")>;

using counter_api = caf::typed_actor<caf::replies_to<inc_atom>::with<int64_t>>;

/// A counter in storage: a restart continues where it stopped.
class counter : public durable::object<counter_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](inc_atom) {
          auto v = storage().get_value<int64_t>("n");
          int64_t next = (v && *v ? **v : 0) + 1;
          storage().put_value("n", next);
          return next;
        },
    };
  }
};

// Recognisable, so that any echo of it is found.
const std::string secret_a =
    "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e7abcd";
const std::string secret_b = std::string(64, 'b');

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// Opens a deployment on `data` with `s` (secret and data dir set there),
/// binds the counter namespace and returns the error, if any.
caf::error open_and_count(durable::settings s, int64_t* value = nullptr) {
  durable::config cfg;
  caf::actor_system sys{cfg};
  auto dep = durable::deployment::open(sys, std::move(s));
  if (!dep)
    return std::move(dep.error());
  auto ns = dep->bind<counter>("counter");
  if (!ns)
    return std::move(ns.error());
  auto n = ns->get_by_name("alice").call(5s, inc_atom::value);
  if (!n)
    return std::move(n.error());
  if (value != nullptr)
    *value = *n;
  return caf::none;
}

} // namespace

BOOST_AUTO_TEST_CASE(dumps_and_errors_never_show_the_secret) {
  temp_dir tmp;
  auto data = tmp.path + "/data";
  std::vector<std::string> env{"DURABLE_SECRET=" + secret_a};
  // From the environment: the program runs, the dump has no secret.
  auto ok = test::run_process({COUNTER_BINARY, "--data-dir", data, "--dump",
                               "--objects", "1", "--dump-config"},
                              tmp.path, env);
  BOOST_CHECK_EQUAL(ok.code, 0);
  BOOST_CHECK(contains(ok.out, "data-dir")); // the dump was printed
  BOOST_CHECK(!contains(ok.out + ok.err, secret_a));
  // As an option (the command line shows in ps): refused, never echoed.
  auto cli = test::run_process({COUNTER_BINARY, "--data-dir", data, "--dump",
                                "--objects", "1", "--dump-config",
                                "--durable.secret=" + secret_a},
                               tmp.path);
  BOOST_CHECK_NE(cli.code, 0);
  BOOST_CHECK(!contains(cli.out + cli.err, secret_a));
  // In an INI file: redacted from the dump, then refused.
  auto ini = tmp.path + "/app.ini";
  std::ofstream{ini} << "[durable]\nsecret=\"" << secret_a << "\"\n";
  auto from_ini = test::run_process({COUNTER_BINARY, "--data-dir", data,
                                     "--dump", "--objects", "1",
                                     "--dump-config", "--config-file=" + ini},
                                    tmp.path);
  BOOST_CHECK_NE(from_ini.code, 0);
  BOOST_CHECK(!contains(from_ini.out + from_ini.err, secret_a));
  BOOST_CHECK(contains(from_ini.err, "durable.secret is not accepted"));
  // Settings: the environment variable is the source; an option is refused
  // with an error that does not echo it.
  ::setenv(durable::secret_env_var, secret_a.c_str(), 1);
  durable::config cfg;
  auto s = durable::settings::from_config(cfg);
  ::unsetenv(durable::secret_env_var);
  BOOST_REQUIRE(s);
  BOOST_CHECK_EQUAL(s->secret_hex, secret_a);
  cfg.set("durable.secret", secret_a);
  auto refused = durable::settings::from_config(cfg);
  BOOST_REQUIRE(!refused);
  BOOST_CHECK(!contains(durable::message_of(refused.error()), secret_a));
  auto dumped = caf::to_string(cfg.dump_content());
  BOOST_CHECK(!contains(dumped, secret_a));
  BOOST_CHECK(contains(dumped, "<redacted>"));
}

BOOST_AUTO_TEST_CASE(a_lost_or_different_secret_is_refused) {
  temp_dir tmp;
  durable::settings s;
  s.data_dir = tmp.path + "/data"; // secret file <data>/secret
  int64_t value = 0;
  BOOST_REQUIRE(!open_and_count(s, &value));
  BOOST_REQUIRE(!open_and_count(s, &value));
  BOOST_CHECK_EQUAL(value, 2);
  // The secret file is lost: a new one would be created and every named
  // object would start again from 0.
  auto secret_file = s.data_dir + "/secret";
  auto saved = test::slurp(secret_file);
  BOOST_REQUIRE_EQUAL(::unlink(secret_file.c_str()), 0);
  auto lost = open_and_count(s);
  BOOST_REQUIRE(lost);
  BOOST_CHECK(durable::is(lost, errc::invalid_argument));
  BOOST_CHECK(contains(durable::message_of(lost), "secret differs"));
  BOOST_CHECK(contains(durable::message_of(lost), "secret adopt"));
  // Another secret from the environment: refused too, and not echoed.
  auto other = s;
  other.secret_hex = secret_b;
  auto different = open_and_count(other);
  BOOST_REQUIRE(different);
  BOOST_CHECK(!contains(durable::message_of(different), secret_b));
  // The admin tool refuses to derive IDs with the wrong secret...
  auto id = test::run_process({ADMIN_BINARY, "--data-dir", s.data_dir, "id",
                               "from-name", "counter", "alice"},
                              tmp.path, {"DURABLE_SECRET=" + secret_b});
  BOOST_CHECK_EQUAL(id.code, 2);
  BOOST_CHECK(contains(id.err, "secret differs"));
  // ...and the original secret restored works again, with the old values.
  {
    auto fd = ::open(secret_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    BOOST_REQUIRE(fd >= 0);
    BOOST_REQUIRE_EQUAL(::write(fd, saved.data(), saved.size()), 32);
    ::close(fd);
  }
  BOOST_REQUIRE(!open_and_count(s, &value));
  BOOST_CHECK_EQUAL(value, 3);
  // The documented re-key path: adopt another secret deliberately.
  auto adopt = test::run_process(
      {ADMIN_BINARY, "--data-dir", s.data_dir, "secret", "adopt"}, tmp.path,
      {"DURABLE_SECRET=" + secret_b});
  BOOST_CHECK_EQUAL(adopt.code, 0);
  BOOST_CHECK(!contains(adopt.out + adopt.err, secret_b));
  BOOST_REQUIRE(!open_and_count(other, &value));
  BOOST_CHECK_EQUAL(value, 1);    // a new ID: the old object is not reachable
  BOOST_CHECK(open_and_count(s)); // and the old secret is refused now
}

BOOST_AUTO_TEST_CASE(a_secret_file_that_is_a_fifo_fails_at_once) {
  temp_dir tmp;
  auto fifo = tmp.path + "/secret";
  BOOST_REQUIRE_EQUAL(::mkfifo(fifo.c_str(), 0600), 0);
  // In a child with a watchdog: opening a FIFO without a writer used to
  // block start-up for ever.
  auto pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::alarm(20);
    auto res = durable::deployment_secret::load_or_create(fifo);
    ::_exit(
        !res && durable::message_of(res.error()).find("not a regular file") !=
                    std::string::npos
            ? 0
            : 1);
  }
  int status = 0;
  BOOST_REQUIRE_EQUAL(::waitpid(pid, &status, 0), pid);
  BOOST_CHECK_MESSAGE(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "load_or_create on a FIFO did not fail cleanly (status "
                          << status << ")");
}

BOOST_AUTO_TEST_CASE(fingerprints_identify_without_revealing) {
  auto a = durable::deployment_secret::from_hex(secret_a);
  auto b = durable::deployment_secret::from_hex(secret_b);
  BOOST_REQUIRE(a && b);
  auto fa = durable::secret_fingerprint(*a);
  BOOST_CHECK_EQUAL(fa.size(), 32u);
  BOOST_CHECK_EQUAL(fa, durable::secret_fingerprint(*a));
  BOOST_CHECK_NE(fa, durable::secret_fingerprint(*b));
  BOOST_CHECK(!contains(secret_a, fa) && !contains(fa, secret_a.substr(0, 8)));
}
