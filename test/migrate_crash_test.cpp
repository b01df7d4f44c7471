// Crash safety of deleting a class: a real `durable-admin migrate` deleting a
// class with data in three jurisdictions is killed with SIGKILL at random
// moments; after a restart (deployment::open) the data directory must be in
// the old state (class recorded, all its data in every environment) or the
// new one (no class, no data anywhere, and a class re-created under the same
// name sees none of the old values), never a mix. DURABLE_LONG_TESTS=1 runs
// 40 rounds instead of 8.

#define BOOST_TEST_MODULE migrate_crash
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

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

using fill_atom = caf::atom_constant<caf::atom("fill")>;
using read_atom = caf::atom_constant<caf::atom("read")>;

using stash_api = caf::typed_actor<
    caf::replies_to<fill_atom, int32_t, std::string>::with<bool>,
    caf::replies_to<read_atom, std::string>::with<std::string>>;

// fill: `n` keys k0..k<n-1> with `value` and an alarm far in the future,
// in one turn; read: a key's value ("" if absent).
class stash : public durable::object<stash_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](fill_atom, int32_t n, const std::string& value) {
          for (int32_t i = 0; i < n; ++i)
            if (storage().put("k" + std::to_string(i), value))
              return false;
          return !storage().set_alarm(4'000'000'000'000);
        },
        [this](read_atom, const std::string& key) {
          auto v = storage().get(key);
          return v && *v ? **v : std::string{};
        },
    };
  }
};

constexpr int objects_per_env = 30;
constexpr int keys_per_object = 200;
const std::string value(300, 'v');
const std::vector<jurisdiction> envs{jurisdiction::none, jurisdiction::eu,
                                     jurisdiction::us};

durable::settings settings_for(const std::string& data) {
  durable::settings s;
  s.data_dir = data;
  s.secret_hex = std::string(64, 'c');
  return s;
}

/// A deployment on `data` for one check.
struct opened {
  durable::config cfg;
  caf::actor_system sys;
  caf::expected<durable::deployment> dep;

  explicit opened(const std::string& data)
      : sys(cfg), dep(durable::deployment::open(sys, settings_for(data))) {
    // nop
  }
};

/// Objects "o<i>" of class "doomed" in three environments, plus a class
/// "keeper" that must survive everything.
void prepare(const std::string& data) {
  opened o{data};
  BOOST_REQUIRE(o.dep);
  auto doomed = o.dep->bind<stash>("doomed");
  auto keeper = o.dep->bind<stash>("keeper");
  BOOST_REQUIRE(doomed && keeper);
  for (auto j : envs) {
    auto ns = j == jurisdiction::none ? *doomed : doomed->jurisdiction(j);
    for (int i = 0; i < objects_per_env; ++i)
      BOOST_REQUIRE(*ns.get_by_name("o" + std::to_string(i))
                         .call(10s, fill_atom::value, keys_per_object, value));
  }
  BOOST_REQUIRE(*keeper->get_by_name("k").call(10s, fill_atom::value, 1,
                                               std::string{"kept"}));
}

std::string copy_of(const std::string& from, const std::string& to) {
  auto cmd = "cp -a '" + from + "' '" + to + "'";
  BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
  return to;
}

/// Starts `durable-admin migrate` on `data`; returns its pid.
pid_t start_migrate(const std::string& data, const std::string& file) {
  auto pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::alarm(60);
    ::execl(ADMIN_BINARY, ADMIN_BINARY, "--data-dir", data.c_str(), "migrate",
            file.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  BOOST_REQUIRE_EQUAL(::waitpid(pid, &status, 0), pid);
  return status;
}

enum class outcome { old_state, new_state };

/// Restarts on `data` and checks that it is wholly old or wholly new.
outcome check_state(const std::string& data, const std::string& doomed_id) {
  opened o{data};
  BOOST_REQUIRE_MESSAGE(o.dep,
                        (o.dep ? "" : durable::message_of(o.dep.error())));
  auto& dep = *o.dep;
  auto rec = dep.registry().find("doomed");
  BOOST_REQUIRE(rec);
  auto applied = dep.registry().applied();
  BOOST_REQUIRE(applied);
  bool recorded = rec->has_value();
  // The tag commits with the record's removal.
  BOOST_CHECK_EQUAL(applied->size(), recorded ? 0u : 1u);
  for (auto j : envs) {
    auto nr = dep.engine().find_namespace_number(j, doomed_id);
    BOOST_REQUIRE(nr && *nr);
    auto usage = dep.engine().usage(j);
    BOOST_REQUIRE(usage);
    durable::namespace_usage found;
    for (auto& u : *usage)
      if (u.namespace_number == **nr)
        found = u;
    auto env = std::string{durable::storage_name(j)};
    if (recorded) {
      BOOST_CHECK_MESSAGE(found.objects == objects_per_env &&
                              found.keys == objects_per_env * keys_per_object &&
                              found.alarms == objects_per_env,
                          "class still recorded, but "
                              << env << " holds " << found.keys << " keys");
    } else {
      BOOST_CHECK_MESSAGE(found.keys == 0 && found.alarms == 0,
                          "class deleted, but " << env << " still holds "
                                                << found.keys << " keys and "
                                                << found.alarms << " alarms");
    }
  }
  // Through the API, every old value is still there.
  if (recorded) {
    auto doomed = dep.bind<stash>("doomed");
    BOOST_REQUIRE_MESSAGE(doomed,
                          (doomed ? "" : durable::message_of(doomed.error())));
    for (auto j : envs) {
      auto ns = j == jurisdiction::none ? *doomed : doomed->jurisdiction(j);
      auto got = ns.get_by_name("o3").call(10s, read_atom::value, "k7");
      BOOST_REQUIRE(got);
      BOOST_CHECK_EQUAL(*got, value);
    }
  }
  auto keeper = dep.bind<stash>("keeper");
  BOOST_REQUIRE(keeper);
  BOOST_CHECK_EQUAL(*keeper->get_by_name("k").call(10s, read_atom::value, "k0"),
                    "kept");
  return recorded ? outcome::old_state : outcome::new_state;
}

/// Binds "doomed" again after its deletion: the same name gives the same
/// derived ID, and none of the old values may show.
void check_recreated(const std::string& data) {
  opened o{data};
  BOOST_REQUIRE(o.dep);
  auto doomed = o.dep->bind<stash>("doomed");
  BOOST_REQUIRE_MESSAGE(doomed,
                        (doomed ? "" : durable::message_of(doomed.error())));
  for (auto j : envs) {
    auto ns = j == jurisdiction::none ? *doomed : doomed->jurisdiction(j);
    for (auto name : {"o0", "o3", "o29"}) {
      auto got = ns.get_by_name(name).call(10s, read_atom::value, "k7");
      BOOST_REQUIRE(got);
      BOOST_CHECK_MESSAGE(got->empty(), "re-created class sees an old value "
                                        "in "
                                            << durable::storage_name(j));
    }
  }
}

} // namespace

BOOST_AUTO_TEST_CASE(killed_class_deletion_is_all_or_nothing) {
  temp_dir tmp;
  auto pristine = tmp.path + "/pristine";
  prepare(pristine);
  std::string doomed_id = durable::namespace_registry::derived_id("doomed");
  auto file = tmp.path + "/delete.json";
  std::ofstream{file} << R"([{"tag": "v1", "deleted_classes": ["doomed"]}])";
  // One uninterrupted run gives the time span to kill within.
  auto calib = copy_of(pristine, tmp.path + "/calib");
  auto t0 = std::chrono::steady_clock::now();
  BOOST_REQUIRE_EQUAL(wait_for(start_migrate(calib, file)), 0);
  auto span = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - t0);
  BOOST_TEST_MESSAGE("uninterrupted migrate: " << span.count() << " us");
  BOOST_CHECK(check_state(calib, doomed_id) == outcome::new_state);
  check_recreated(calib);
  int rounds = std::getenv("DURABLE_LONG_TESTS") != nullptr ? 40 : 8;
  std::mt19937_64 rng{std::random_device{}()};
  // Most of a run is start-up and validation; half the kills aim at its
  // second half, where the commits and drops are.
  std::uniform_int_distribution<int64_t> anywhere{0, span.count()};
  std::uniform_int_distribution<int64_t> late{span.count() / 2, span.count()};
  int killed = 0, olds = 0, news = 0;
  for (int round = 0; round < rounds; ++round) {
    auto data = copy_of(pristine, tmp.path + "/r" + std::to_string(round));
    auto pid = start_migrate(data, file);
    auto delay = round % 2 == 0 ? anywhere(rng) : late(rng);
    std::this_thread::sleep_for(std::chrono::microseconds{delay});
    ::kill(pid, SIGKILL);
    auto status = wait_for(pid);
    if (WIFSIGNALED(status))
      ++killed;
    auto result = check_state(data, doomed_id);
    (result == outcome::old_state ? olds : news) += 1;
    // A second restart changes nothing, and applying the file again (what
    // an operator does after a crash) ends in the new state.
    BOOST_CHECK(check_state(data, doomed_id) == result);
    BOOST_REQUIRE_EQUAL(wait_for(start_migrate(data, file)), 0);
    BOOST_CHECK(check_state(data, doomed_id) == outcome::new_state);
    check_recreated(data);
    auto cmd = "rm -rf '" + data + "'";
    BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
  }
  BOOST_TEST_MESSAGE(rounds << " rounds, " << killed << " killed mid-run: "
                            << olds << " old state, " << news << " new state");
}
