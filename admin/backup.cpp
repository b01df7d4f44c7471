// durable-admin: backup and restore of a data directory (the copying and
// checking is durable/backup.hpp; this is the secret and the output).

#include <cstdlib>
#include <iostream>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "durable/backup.hpp"
#include "durable/config.hpp"
#include "durable/errc.hpp"
#include "durable/secret_fingerprint.hpp"

namespace admin {

namespace {

constexpr const char* secret_name = "secret";

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The fingerprint of the secret `engine`'s data directory was opened with
// (empty if none is recorded).
std::string recorded_fingerprint(durable::storage_engine& engine) {
  auto fp = engine.meta_get(durable::jurisdiction::none,
                            durable::secret_fingerprint_key);
  return fp && *fp ? **fp : std::string{};
}

nlohmann::json files_json(const durable::backup_manifest& m) {
  auto files = nlohmann::json::array();
  for (auto& f : m.files)
    files.push_back(
        {{"path", f.path}, {"bytes", f.bytes}, {"sha256", f.sha256}});
  return files;
}

void print_files(const durable::backup_manifest& m) {
  for (auto& f : m.files)
    std::cout << "  " << pad(f.path, 20) << ' ' << f.bytes << " bytes  sha256 "
              << f.sha256 << '\n';
}

std::string secret_note(bool included, const std::string& fingerprint) {
  if (included)
    return "the deployment secret file is included (a credential: keep the "
           "backup private)";
  return "the deployment secret is not included: a restored directory needs "
         "the original one (fingerprint " +
         (fingerprint.empty() ? std::string{"unknown"} : fingerprint) +
         "); another secret is refused";
}

} // namespace

// -- backup -------------------------------------------------------------------

int backup(const options& opts) {
  auto& target = opts.args[0];
  durable::backup_options bopts;
  if (opts.include_secret) {
    if (auto env = std::getenv(durable::secret_env_var);
        env != nullptr && *env != '\0')
      return fail(std::string{"--include-secret: the deployment secret comes "
                              "from "} +
                      durable::secret_env_var +
                      ", not from a file; keep it safe yourself",
                  exit_invalid);
    auto path =
        opts.secret_file.empty() ? opts.data_dir + "/secret" : opts.secret_file;
    if (!exists(path))
      return fail("--include-secret: no deployment secret file '" + path + "'",
                  exit_invalid);
    bopts.extra_files.emplace_back(secret_name, path);
  }
  auto engine = open_engine(opts, false);
  if (!engine)
    return fail(engine.error(), "cannot back up '" + opts.data_dir + "'");
  auto m = durable::make_backup(**engine, target, bopts);
  if (!m)
    return fail(m.error(),
                "backup failed, nothing was written to '" + target + "'");
  auto fingerprint = recorded_fingerprint(**engine);
  if (opts.json) {
    std::cout << nlohmann::json{{"backup", target},
                                {"source", opts.data_dir},
                                {"created_ms", m->created_ms},
                                {"environments", m->environments},
                                {"files", files_json(*m)},
                                {"secret_included", opts.include_secret},
                                {"secret_fingerprint", fingerprint}}
                     .dump()
              << '\n';
    return exit_ok;
  }
  std::cout << "backed up '" << opts.data_dir << "' into '" << target
            << "' (taken " << iso_time(m->created_ms) << "):\n";
  print_files(*m);
  std::cout << secret_note(opts.include_secret, fingerprint) << '\n';
  return exit_ok;
}

// -- restore ------------------------------------------------------------------

int restore(const options& opts) {
  if (opts.data_dir_given)
    return fail("restore takes the data directory as its second argument, "
                "not --data-dir",
                exit_usage);
  auto& from = opts.args[0];
  auto& to = opts.args[1];
  std::string fingerprint;
  bool secret_checked = false;
  // Before the restore is committed: a secret at hand (DURABLE_SECRET,
  // --secret-file, or the one in the backup) must be the directory's.
  auto check = [&](const std::string& staged) -> caf::error {
    durable::storage_options sopts;
    sopts.data_dir = staged;
    sopts.read_only = true;
    auto engine = durable::storage_engine::open(std::move(sopts));
    if (!engine)
      return std::move(engine.error());
    fingerprint = recorded_fingerprint(**engine);
    std::optional<caf::expected<durable::deployment_secret>> secret;
    if (auto env = std::getenv(durable::secret_env_var);
        env != nullptr && *env != '\0')
      secret = durable::deployment_secret::from_hex(env);
    else if (!opts.secret_file.empty())
      secret =
          exists(opts.secret_file)
              ? durable::deployment_secret::load_or_create(opts.secret_file)
              : durable::make_error(durable::errc::invalid_argument,
                                    "no deployment secret '" +
                                        opts.secret_file + "'");
    else if (exists(staged + '/' + secret_name))
      secret = durable::deployment_secret::load_or_create(staged + '/' +
                                                          secret_name);
    if (!secret)
      return caf::none;
    if (!*secret)
      return std::move(secret->error());
    secret_checked = true;
    return durable::check_secret_fingerprint(**engine, **secret);
  };
  auto m = durable::restore_backup(from, to, check);
  if (!m)
    return fail(m.error(),
                "restore refused, nothing was written to '" + to + "'");
  bool included = false;
  for (auto& f : m->files)
    included = included || f.path == secret_name;
  if (opts.json) {
    std::cout << nlohmann::json{{"restored", to},
                                {"backup", from},
                                {"created_ms", m->created_ms},
                                {"source", m->source},
                                {"environments", m->environments},
                                {"files", files_json(*m)},
                                {"secret_included", included},
                                {"secret_checked", secret_checked},
                                {"secret_fingerprint", fingerprint}}
                     .dump()
              << '\n';
    return exit_ok;
  }
  std::cout << "restored the backup '" << from << "' of '" << m->source
            << "' (taken " << iso_time(m->created_ms) << ") into '" << to
            << "':\n";
  print_files(*m);
  if (included)
    std::cout << "the deployment secret was restored to '" << to
              << "/secret'\n";
  else
    std::cout << secret_note(false, fingerprint) << '\n';
  if (secret_checked)
    std::cout << "the deployment secret at hand matches the data directory\n";
  return exit_ok;
}

} // namespace admin
