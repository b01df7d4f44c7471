// The namespace registry and migrations on real LMDB: listing and paging,
// bind's automatic records, migrations applied once by tag, renames that
// keep IDs and data, deletions that remove data and alarms in every
// jurisdiction, and failing migrations that change nothing.

#define BOOST_TEST_MODULE registry
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>

#include "durable/errc.hpp"
#include "durable/migration.hpp"
#include "durable/namespace_registry.hpp"
#include "durable/storage_engine.hpp"
#include "test_objects.hpp"

using namespace std::chrono_literals;
using durable::errc;
using durable::jurisdiction;
using durable::migration;
using test::fixture;
using test::temp_dir;

namespace {

using put_atom = caf::atom_constant<caf::atom("put")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using arm_atom = caf::atom_constant<caf::atom("arm")>;

using stash_api = caf::typed_actor<
    caf::replies_to<put_atom, std::string, std::string>::with<bool>,
    caf::replies_to<read_atom, std::string>::with<std::string>,
    caf::replies_to<arm_atom, int64_t>::with<bool>>;

/// Stores what it is told; `read` answers "<none>" for absent keys.
class stash : public durable::object<stash_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](put_atom, const std::string& k, const std::string& v) {
          return !storage().put(k, v);
        },
        [this](read_atom, const std::string& k) -> std::string {
          auto v = storage().get(k);
          return v && *v ? **v : "<none>";
        },
        [this](arm_atom, int64_t t) { return !storage().set_alarm(t); },
    };
  }
};

// Far in the future: never fires during a test.
constexpr int64_t far_alarm = 4'000'000'000'000;

durable::settings settings_in(const temp_dir& dir) {
  auto cfg = test::test_settings();
  cfg.data_dir = dir.path + "/data";
  return cfg;
}

migration new_classes(std::string tag, std::vector<std::string> names) {
  migration m;
  m.tag = std::move(tag);
  for (auto& n : names)
    m.new_classes.push_back(durable::class_definition{n, {}, {}});
  return m;
}

migration rename(std::string tag, std::string from, std::string to) {
  migration m;
  m.tag = std::move(tag);
  m.renamed_classes.push_back(durable::class_rename{from, to});
  return m;
}

migration remove(std::string tag, std::string name) {
  migration m;
  m.tag = std::move(tag);
  m.deleted_classes.push_back(std::move(name));
  return m;
}

std::string joined(const std::vector<std::string>& xs) {
  std::string result;
  for (auto& x : xs)
    result += (result.empty() ? "" : ",") + x;
  return result;
}

std::string names_of(const durable::namespace_registry& reg) {
  std::string result;
  auto all = reg.all();
  BOOST_REQUIRE(all);
  for (auto& rec : *all)
    result += rec.name + "=" + rec.id + ";";
  return result;
}

std::string tags_of(const durable::namespace_registry& reg) {
  std::vector<std::string> result;
  auto applied = reg.applied();
  BOOST_REQUIRE(applied);
  for (auto& x : *applied)
    result.push_back(x.tag);
  return joined(result);
}

std::unique_ptr<durable::storage_engine> raw_engine(const std::string& dir) {
  durable::storage_options opts;
  opts.data_dir = dir;
  auto engine = durable::storage_engine::open(opts);
  BOOST_REQUIRE(engine);
  return std::move(*engine);
}

bool is_lower_hex32(const std::string& x) {
  return x.size() == 32 && std::all_of(x.begin(), x.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

} // namespace

BOOST_AUTO_TEST_CASE(listing_pages_and_rejects_bad_parameters) {
  fixture fx;
  auto& reg = fx.dep.registry();
  auto empty = reg.list();
  BOOST_REQUIRE(empty);
  BOOST_CHECK(empty->result.empty());
  BOOST_CHECK_EQUAL(empty->result_info.total_count, 0);
  std::vector<std::string> names;
  for (int i = 24; i >= 0; --i)
    names.push_back("ns-" + std::string(i < 10 ? "0" : "") + std::to_string(i));
  BOOST_REQUIRE(fx.dep.migrate({new_classes("v1", names)}));
  auto first = reg.list();
  BOOST_REQUIRE(first);
  BOOST_CHECK_EQUAL(first->result.size(), 20u);
  BOOST_CHECK_EQUAL(first->result_info.page, 1);
  BOOST_CHECK_EQUAL(first->result_info.per_page, 20);
  BOOST_CHECK_EQUAL(first->result_info.count, 20);
  BOOST_CHECK_EQUAL(first->result_info.total_count, 25);
  BOOST_CHECK_EQUAL(first->result.front().name, "ns-00"); // ordered by name
  BOOST_CHECK_EQUAL(first->result.back().name, "ns-19");
  auto second = reg.list(2);
  BOOST_REQUIRE(second);
  BOOST_REQUIRE_EQUAL(second->result_info.count, 5);
  BOOST_CHECK_EQUAL(second->result.front().name, "ns-20");
  auto past = reg.list(3, 20);
  BOOST_REQUIRE(past);
  BOOST_CHECK(past->result.empty());
  BOOST_CHECK_EQUAL(past->result_info.count, 0);
  BOOST_CHECK_EQUAL(past->result_info.total_count, 25);
  auto small = reg.list(4, 7);
  BOOST_REQUIRE(small);
  BOOST_CHECK_EQUAL(small->result_info.count, 4);
  BOOST_CHECK_EQUAL(small->result.front().name, "ns-21");
  BOOST_CHECK_EQUAL(reg.list(1, 100)->result.size(), 25u);
  for (auto rec : first->result) {
    BOOST_CHECK(is_lower_hex32(rec.id));
    BOOST_CHECK_EQUAL(rec.class_name, rec.name);
  }
  for (auto [page, per_page] : {std::pair<int64_t, int64_t>{0, 20},
                                {-1, 20},
                                {1, 0},
                                {1, 101},
                                {1, -5}}) {
    auto bad = reg.list(page, per_page);
    BOOST_REQUIRE(!bad);
    BOOST_CHECK(durable::is(bad.error(), errc::invalid_argument));
  }
  BOOST_CHECK_NE(durable::message_of(reg.list(1, 101).error()).find("per_page"),
                 std::string::npos);
}

BOOST_AUTO_TEST_CASE(listing_renders_as_the_rest_envelope) {
  durable::namespace_list page;
  page.result.push_back({std::string(32, 'a'), "chat \"x\"", "app", "Chat"});
  page.result_info = {2, 1, 1, 3};
  BOOST_CHECK_EQUAL(
      durable::to_json(page),
      "{\"result\":[{\"id\":\"" + std::string(32, 'a') +
          "\",\"name\":\"chat \\\"x\\\"\",\"script\":\"app\",\"class\":"
          "\"Chat\"}],\"result_info\":{\"page\":2,\"per_page\":1,\"count\":"
          "1,\"total_count\":3},\"success\":true,\"errors\":[],\"messages\":"
          "[]}");
  auto err = durable::make_error(errc::invalid_argument, "per_page bad");
  BOOST_CHECK_EQUAL(durable::to_json_error(err),
                    "{\"result\":null,\"success\":false,\"errors\":[{\"code\":"
                    "1,\"message\":\"per_page bad\"}],\"messages\":[]}");
}

BOOST_AUTO_TEST_CASE(bind_records_namespaces_with_derived_ids) {
  temp_dir dir;
  auto cfg = settings_in(dir);
  cfg.script = "registry-test";
  std::string hex;
  {
    fixture fx{cfg};
    auto ns = fx.bind<stash>("stash");
    auto rec = fx.dep.registry().find("stash");
    BOOST_REQUIRE(rec && *rec);
    BOOST_CHECK_EQUAL((*rec)->id,
                      durable::namespace_registry::derived_id("stash"));
    BOOST_CHECK(is_lower_hex32((*rec)->id));
    BOOST_CHECK_EQUAL((*rec)->script, "registry-test");
    BOOST_CHECK_EQUAL(ns.key(), (*rec)->id);
    hex = ns.id_from_name("a").to_string();
    auto opts = durable::namespace_options{};
    opts.script = "explicit";
    fx.bind<stash>("other", opts);
    BOOST_CHECK_EQUAL((*fx.dep.registry().find("other"))->script, "explicit");
  }
  // Another data directory with the same secret derives the same IDs.
  temp_dir elsewhere;
  fixture fx{settings_in(elsewhere)};
  BOOST_CHECK_EQUAL(fx.bind<stash>("stash").id_from_name("a").to_string(), hex);
  BOOST_CHECK_NE(durable::namespace_registry::derived_id("stash"),
                 durable::namespace_registry::derived_id("stash2"));
}

BOOST_AUTO_TEST_CASE(migrations_apply_once_by_tag_and_in_order) {
  fixture fx;
  auto& reg = fx.dep.registry();
  auto first = fx.dep.migrate({new_classes("v1", {"a"})});
  BOOST_REQUIRE(first);
  BOOST_CHECK_EQUAL(joined(first->applied), "v1");
  auto a_id = (*reg.find("a"))->id;
  auto second =
      fx.dep.migrate({new_classes("v1", {"a"}), new_classes("v2", {"b"})});
  BOOST_REQUIRE(second);
  BOOST_CHECK_EQUAL(joined(second->skipped), "v1");
  BOOST_CHECK_EQUAL(joined(second->applied), "v2");
  BOOST_CHECK_EQUAL((*reg.find("a"))->id, a_id); // not recreated
  auto again =
      fx.dep.migrate({new_classes("v1", {"a"}), new_classes("v2", {"b"})});
  BOOST_REQUIRE(again);
  BOOST_CHECK(again->applied.empty());
  BOOST_CHECK_EQUAL(again->skipped.size(), 2u);
  auto history = reg.applied();
  BOOST_REQUIRE(history);
  BOOST_REQUIRE_EQUAL(history->size(), 2u);
  BOOST_CHECK_EQUAL((*history)[0].tag, "v1");
  BOOST_CHECK_EQUAL((*history)[0].sequence, 1u);
  BOOST_CHECK_EQUAL((*history)[1].tag, "v2");
  BOOST_CHECK_EQUAL((*history)[1].sequence, 2u);
  BOOST_CHECK_GT((*history)[1].time_ms, 0);
  // Duplicate tags, empty tags and applied tags after new ones are refused.
  auto dup = fx.dep.migrate({new_classes("v3", {"c"}), new_classes("v3", {})});
  BOOST_REQUIRE(!dup);
  BOOST_CHECK(durable::is(dup.error(), errc::invalid_argument));
  BOOST_CHECK(!fx.dep.migrate({new_classes("", {"c"})}));
  auto order =
      fx.dep.migrate({new_classes("v3", {"c"}), new_classes("v1", {})});
  BOOST_REQUIRE(!order);
  BOOST_CHECK_NE(durable::message_of(order.error()).find("order"),
                 std::string::npos);
  BOOST_CHECK(!*reg.find("c"));
  BOOST_CHECK_EQUAL(tags_of(reg), "v1,v2");
}

BOOST_AUTO_TEST_CASE(a_rename_keeps_ids_and_data) {
  temp_dir dir;
  auto cfg = settings_in(dir);
  std::string alice_hex;
  std::string eu_hex;
  {
    fixture fx{cfg};
    auto ns = fx.bind<stash>("old");
    auto alice = ns.get_by_name("alice");
    BOOST_REQUIRE(*alice.call(5s, put_atom::value, "k", "global-value"));
    auto eu = ns.jurisdiction(jurisdiction::eu).get_by_name("bob");
    BOOST_REQUIRE(*eu.call(5s, put_atom::value, "k", "eu-value"));
    alice_hex = ns.id_from_name("alice").to_string();
    eu_hex = ns.jurisdiction(jurisdiction::eu).id_from_name("bob").to_string();
  }
  fixture fx{cfg};
  auto old_id = (*fx.dep.registry().find("old"))->id;
  auto result = fx.dep.migrate({rename("v1", "old", "new")});
  BOOST_REQUIRE(result);
  BOOST_CHECK(!*fx.dep.registry().find("old"));
  auto rec = fx.dep.registry().find("new");
  BOOST_REQUIRE(rec && *rec);
  BOOST_CHECK_EQUAL((*rec)->id, old_id);
  BOOST_CHECK_EQUAL((*rec)->class_name, "new"); // the class followed
  auto ns = fx.bind<stash>("new");
  BOOST_CHECK_EQUAL(ns.id_from_name("alice").to_string(), alice_hex);
  BOOST_CHECK(ns.id_from_string(alice_hex));
  BOOST_CHECK_EQUAL(*ns.get_by_name("alice").call(5s, read_atom::value, "k"),
                    "global-value");
  auto eu_id = ns.id_from_string(eu_hex);
  BOOST_REQUIRE(eu_id);
  BOOST_CHECK_EQUAL(*ns.get(*eu_id)->call(5s, read_atom::value, "k"),
                    "eu-value");
  // The old name is gone; binding it would reuse the renamed namespace's
  // derived ID, which is refused with a clear error.
  auto stale = fx.dep.bind<stash>("old");
  BOOST_REQUIRE(!stale);
  BOOST_CHECK(durable::is(stale.error(), errc::invalid_argument));
  BOOST_CHECK_NE(durable::message_of(stale.error()).find("renamed"),
                 std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_delete_removes_data_and_alarms_in_every_jurisdiction) {
  temp_dir dir;
  auto cfg = settings_in(dir);
  std::string doomed_id;
  {
    fixture fx{cfg};
    auto doomed = fx.bind<stash>("doomed");
    auto kept = fx.bind<stash>("kept");
    for (auto j : {jurisdiction::none, jurisdiction::eu}) {
      for (auto name : {"x", "y"}) {
        auto obj = doomed.jurisdiction(j).get_by_name(name);
        BOOST_REQUIRE(*obj.call(5s, put_atom::value, "k1", "v"));
        BOOST_REQUIRE(*obj.call(5s, put_atom::value, "k2", "v"));
        BOOST_REQUIRE(*obj.call(5s, arm_atom::value, far_alarm));
      }
      auto other = kept.jurisdiction(j).get_by_name("x");
      BOOST_REQUIRE(*other.call(5s, put_atom::value, "k1", "kept"));
      BOOST_REQUIRE(*other.call(5s, arm_atom::value, far_alarm));
    }
    doomed_id = doomed.key();
    // A bound class cannot be deleted: its live objects would write on.
    auto refused = fx.dep.migrate({remove("v1", "doomed")});
    BOOST_REQUIRE(!refused);
    BOOST_CHECK_NE(durable::message_of(refused.error()).find("bound"),
                   std::string::npos);
  }
  {
    fixture fx{cfg};
    auto result = fx.dep.migrate({remove("v1", "doomed")});
    BOOST_REQUIRE(result);
    BOOST_REQUIRE_EQUAL(result->deleted.size(), 1u);
    auto& gone = result->deleted[0].removed;
    BOOST_CHECK_EQUAL(result->deleted[0].id, doomed_id);
    BOOST_CHECK_EQUAL(gone.objects, 4u);
    BOOST_CHECK_EQUAL(gone.keys, 8u);
    BOOST_CHECK_EQUAL(gone.alarms, 4u);
    BOOST_CHECK(!*fx.dep.registry().find("doomed"));
  }
  // Raw check: nothing of the namespace is left, the other one is intact.
  {
    auto engine = raw_engine(cfg.data_dir);
    auto kept_id = durable::namespace_registry::derived_id("kept");
    for (auto j : {jurisdiction::none, jurisdiction::eu}) {
      auto doomed_nr = engine->find_namespace_number(j, doomed_id);
      auto kept_nr = engine->find_namespace_number(j, kept_id);
      BOOST_REQUIRE(doomed_nr && *doomed_nr && kept_nr && *kept_nr);
      auto usage = engine->usage(j);
      BOOST_REQUIRE(usage);
      BOOST_REQUIRE_EQUAL(usage->size(), 1u);
      BOOST_CHECK_EQUAL(usage->front().namespace_number, **kept_nr);
      BOOST_CHECK_EQUAL(usage->front().objects, 1u);
      BOOST_CHECK_EQUAL(usage->front().alarms, 1u);
      auto alarms = engine->all_alarms(j);
      BOOST_REQUIRE(alarms);
      BOOST_REQUIRE_EQUAL(alarms->size(), 1u); // the time index too
      BOOST_CHECK_EQUAL(alarms->front().namespace_number, **kept_nr);
    }
  }
  // Recreated, the class is a new namespace: new ID, no data.
  fixture fx{cfg};
  BOOST_REQUIRE(fx.dep.migrate({new_classes("v2", {"doomed"})}));
  auto ns = fx.bind<stash>("doomed");
  BOOST_CHECK_NE(ns.key(), doomed_id);
  BOOST_CHECK_EQUAL(*ns.get_by_name("x").call(5s, read_atom::value, "k1"),
                    "<none>");
  auto kept = fx.bind<stash>("kept");
  BOOST_CHECK_EQUAL(*kept.jurisdiction(jurisdiction::eu)
                         .get_by_name("x")
                         .call(5s, read_atom::value, "k1"),
                    "kept");
}

BOOST_AUTO_TEST_CASE(failing_migrations_change_nothing) {
  temp_dir dir;
  auto cfg = settings_in(dir);
  {
    fixture fx{cfg};
    auto ns = fx.bind<stash>("a");
    BOOST_REQUIRE(*ns.get_by_name("x").call(5s, put_atom::value, "k", "v"));
    BOOST_REQUIRE(fx.dep.migrate({new_classes("v1", {"b", "c"})}));
  }
  fixture fx{cfg};
  auto& reg = fx.dep.registry();
  auto names = names_of(reg);
  auto tags = tags_of(reg);
  std::vector<std::pair<std::vector<migration>, std::string>> cases{
      {{rename("v2", "nosuch", "d")}, "no such class"},
      {{rename("v2", "a", "b")}, "exists"},
      {{rename("v2", "a", "a")}, "exists"},
      {{remove("v2", "nosuch")}, "no such class"},
      {{new_classes("v2", {"b"})}, "exists"},
      {{new_classes("v2", {"ok"}), rename("v3", "b", "e"),
        remove("v4", "nosuch")},
       "no such class"},
      {{rename("v2", "a", "z"), remove("v2b", "a")}, "no such class"},
      {{new_classes("v2", {std::string(300, 'n')})}, "256 bytes"},
      {{new_classes("v2", {"bad\nname"})}, "control"},
  };
  for (auto& [ms, text] : cases) {
    auto result = fx.dep.migrate(ms);
    BOOST_REQUIRE(!result);
    BOOST_CHECK(durable::is(result.error(), errc::invalid_argument));
    BOOST_CHECK_MESSAGE(durable::message_of(result.error()).find(text) !=
                            std::string::npos,
                        durable::message_of(result.error()));
    BOOST_CHECK_EQUAL(names_of(reg), names);
    BOOST_CHECK_EQUAL(tags_of(reg), tags);
  }
  auto ns = fx.bind<stash>("a");
  BOOST_CHECK_EQUAL(*ns.get_by_name("x").call(5s, read_atom::value, "k"), "v");
}

BOOST_AUTO_TEST_CASE(within_a_migration_renames_then_deletes_then_creates) {
  fixture fx;
  BOOST_REQUIRE(fx.dep.migrate({new_classes("v1", {"a", "b"})}));
  auto& reg = fx.dep.registry();
  auto a_id = (*reg.find("a"))->id;
  auto b_id = (*reg.find("b"))->id;
  migration m;
  m.tag = "v2";
  m.renamed_classes.push_back({"a", "c"});
  m.deleted_classes.push_back("b");
  m.new_classes.push_back({"a", "A", "prog"});
  m.new_classes.push_back({"b", {}, {}});
  BOOST_REQUIRE(fx.dep.migrate({m}));
  BOOST_CHECK_EQUAL((*reg.find("c"))->id, a_id);
  auto a = *reg.find("a");
  BOOST_REQUIRE(a);
  BOOST_CHECK_NE(a->id, a_id);
  BOOST_CHECK_EQUAL(a->class_name, "A");
  BOOST_CHECK_EQUAL(a->script, "prog");
  BOOST_CHECK_NE((*reg.find("b"))->id, b_id);
}

BOOST_AUTO_TEST_CASE(an_interrupted_delete_finishes_before_the_name_returns) {
  temp_dir dir;
  auto cfg = settings_in(dir);
  std::string doomed_id;
  {
    fixture fx{cfg};
    auto doomed = fx.bind<stash>("doomed");
    auto obj = doomed.jurisdiction(jurisdiction::eu).get_by_name("x");
    BOOST_REQUIRE(*obj.call(5s, put_atom::value, "k1", "old"));
    BOOST_REQUIRE(*obj.call(5s, arm_atom::value, far_alarm));
    doomed_id = doomed.key();
  }
  // The state a migrate killed right after its global commit leaves: the
  // record gone, a deletion marker, the eu data still there.
  {
    std::shared_ptr<durable::storage_engine> engine = raw_engine(cfg.data_dir);
    BOOST_REQUIRE(!engine->update(jurisdiction::none, [&](auto& tx) {
      if (auto err = tx.remove("registry/class/doomed"))
        return err;
      return tx.put("registry/dropping/" + doomed_id, "doomed");
    }));
    durable::namespace_registry reg{engine};
    // Binding the name again (same derived ID) would see the old data.
    auto early = reg.ensure("doomed", "");
    BOOST_REQUIRE(!early);
    BOOST_CHECK(durable::is(early.error(), errc::unavailable));
    BOOST_CHECK_NE(durable::message_of(early.error()).find("still being"),
                   std::string::npos);
    BOOST_REQUIRE(!reg.finish_deletions());
    BOOST_CHECK(engine->usage(jurisdiction::eu)->empty());
    BOOST_CHECK(engine->all_alarms(jurisdiction::eu)->empty());
    BOOST_CHECK(
        engine->meta_scan(jurisdiction::none, "registry/dropping/")->empty());
    BOOST_REQUIRE(!reg.finish_deletions()); // idempotent
    auto again = reg.ensure("doomed", "");
    BOOST_REQUIRE(again);
    BOOST_CHECK_EQUAL(again->id, doomed_id);
  }
  fixture fx{cfg};
  auto ns = fx.bind<stash>("doomed");
  BOOST_CHECK_EQUAL(*ns.jurisdiction(jurisdiction::eu)
                         .get_by_name("x")
                         .call(5s, read_atom::value, "k1"),
                    "<none>");
}
