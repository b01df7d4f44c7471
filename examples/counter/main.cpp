// Drives counter objects through stubs with many requests in flight.
//
//   counter --data-dir D --objects K --increments N [--inflight F] [--quiet]
//     prints `ack <object-name> <value>` per acknowledged increment, then a
//     summary line
//   counter --data-dir D --dump --objects K
//     prints `value <object-name> <n>` per object

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "counter.hpp"
#include "durable/config.hpp"
#include "durable/deployment.hpp"

namespace {

struct options {
  std::string data_dir = "durable-data";
  size_t objects = 100;
  size_t increments = 10000;
  size_t inflight = 256;
  bool dump = false;
  bool quiet = false;
};

bool parse(int argc, char** argv, options& opts, std::vector<char*>& rest) {
  rest.push_back(argv[0]);
  for (int i = 1; i < argc; ++i) {
    auto arg = std::string{argv[i]};
    auto next = [&](size_t& out) {
      if (i + 1 >= argc)
        return false;
      char* end = nullptr;
      out = std::strtoull(argv[++i], &end, 10);
      return *end == '\0' && out > 0;
    };
    if (arg == "--data-dir" && i + 1 < argc)
      opts.data_dir = argv[++i];
    else if (arg == "--objects") {
      if (!next(opts.objects))
        return false;
    } else if (arg == "--increments") {
      if (!next(opts.increments))
        return false;
    } else if (arg == "--inflight") {
      if (!next(opts.inflight))
        return false;
    } else if (arg == "--dump")
      opts.dump = true;
    else if (arg == "--quiet")
      opts.quiet = true;
    else
      rest.push_back(argv[i]);
  }
  return true;
}

std::string object_name(size_t i) {
  return "counter-" + std::to_string(i);
}

using counter_ns = durable::object_namespace<example::counter_api>;

/// Keeps `inflight` increments going until `total` were acknowledged.
void drive(caf::event_based_actor* self, counter_ns ns, options opts,
           std::promise<size_t>* done) {
  struct state {
    size_t sent = 0;
    size_t acked = 0;
    size_t failed = 0;
  };
  auto st = std::make_shared<state>();
  auto send_one = std::make_shared<std::function<void()>>();
  // The function holds itself weakly (no cycle, so nothing leaks); each
  // request in flight holds it strongly until its answer came.
  std::weak_ptr<std::function<void()>> weak = send_one;
  *send_one = [=] {
    auto again = weak.lock();
    auto i = st->sent++ % opts.objects;
    auto name = object_name(i);
    ns.get_by_name(name)
        .request(self, caf::infinite, example::inc_atom::value)
        .then(
            [=](int64_t value) {
              if (!opts.quiet)
                std::printf("ack %s %lld\n", name.c_str(),
                            static_cast<long long>(value));
              if (++st->acked + st->failed == opts.increments)
                done->set_value(st->failed);
              else if (st->sent < opts.increments)
                (*again)();
            },
            [=](caf::error& err) {
              std::fprintf(stderr, "increment of %s failed: %s\n", name.c_str(),
                           durable::message_of(err).c_str());
              if (st->acked + ++st->failed == opts.increments)
                done->set_value(st->failed);
              else if (st->sent < opts.increments)
                (*again)();
            });
  };
  for (size_t i = 0; i < opts.inflight && i < opts.increments; ++i)
    (*send_one)();
}

int dump(const counter_ns& ns, const options& opts) {
  for (size_t i = 0; i < opts.objects; ++i) {
    auto name = object_name(i);
    auto value = ns.get_by_name(name).call(std::chrono::seconds{30},
                                           example::get_atom::value);
    if (!value) {
      std::fprintf(stderr, "cannot read %s: %s\n", name.c_str(),
                   durable::message_of(value.error()).c_str());
      return EXIT_FAILURE;
    }
    std::printf("value %s %lld\n", name.c_str(),
                static_cast<long long>(*value));
  }
  return EXIT_SUCCESS;
}

} // namespace

int main(int argc, char** argv) {
  // Every ack line must reach a reader that may kill us at any moment.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  options opts;
  std::vector<char*> rest;
  if (!parse(argc, argv, opts, rest)) {
    std::fprintf(stderr, "usage: counter --data-dir D --objects K "
                         "--increments N [--inflight F] [--quiet] | --dump\n");
    return EXIT_FAILURE;
  }
  durable::config cfg;
  cfg.set("durable.data-dir", opts.data_dir);
  if (auto err = cfg.parse(static_cast<int>(rest.size()), rest.data())) {
    std::fprintf(stderr, "bad options: %s\n", cfg.render(err).c_str());
    return EXIT_FAILURE;
  }
  caf::actor_system sys{cfg};
  auto dep = durable::deployment::open(sys);
  if (!dep) {
    std::fprintf(stderr, "cannot open %s: %s\n", opts.data_dir.c_str(),
                 durable::message_of(dep.error()).c_str());
    return EXIT_FAILURE;
  }
  auto ns = dep->bind<example::counter>("counter");
  if (!ns) {
    std::fprintf(stderr, "%s\n", durable::message_of(ns.error()).c_str());
    return EXIT_FAILURE;
  }
  if (opts.dump)
    return dump(*ns, opts);
  std::promise<size_t> done;
  auto start = std::chrono::steady_clock::now();
  sys.spawn(drive, *ns, opts, &done);
  auto failed = done.get_future().get();
  auto secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::fprintf(stderr,
               "summary: %zu increments (%zu failed) over %zu objects in "
               "%.2f s = %.0f increments/s; data directory: %s\n",
               opts.increments, failed, opts.objects, secs,
               opts.increments / secs, opts.data_dir.c_str());
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
