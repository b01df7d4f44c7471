#include "durable/secret_fingerprint.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "durable/errc.hpp"
#include "durable/hex.hpp"

namespace durable {

std::string secret_fingerprint(const deployment_secret& secret) {
  static constexpr char label[] = "caf-durable/secret-fingerprint";
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  auto& key = secret.bytes();
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const uint8_t*>(label), sizeof(label) - 1, md,
           &size) == nullptr ||
      size < 16)
    // HMAC-SHA256 does not fail on a working OpenSSL; never compare against
    // a made-up fingerprint.
    std::abort();
  auto result = to_hex(md, 16);
  OPENSSL_cleanse(md, sizeof(md));
  return result;
}

caf::error check_secret_fingerprint(storage_engine& engine,
                                    const deployment_secret& secret) {
  auto mine = secret_fingerprint(secret);
  auto stored = engine.meta_get(jurisdiction::none, secret_fingerprint_key);
  if (!stored)
    return std::move(stored.error());
  if (*stored) {
    // A fingerprint reveals nothing of the secret: a plain compare is fine.
    if (**stored == mine)
      return caf::none;
    return make_error(
        errc::invalid_argument,
        "the deployment secret differs from the one the data directory '" +
            engine.options().data_dir +
            "' was created with (was the secret file lost or replaced, or "
            "DURABLE_SECRET changed?): restore that secret; to use this one "
            "anyway, which gives every named object a new ID and leaves the "
            "old objects unreachable, run `durable-admin --data-dir " +
            engine.options().data_dir + " secret adopt`");
  }
  if (engine.read_only())
    return caf::none;
  // Concurrent first starts: the first commit wins, the others compare.
  std::string winner;
  auto err = engine.update(jurisdiction::none, [&](meta_transaction& tx) {
    auto raw = tx.get(secret_fingerprint_key);
    if (!raw)
      return std::move(raw.error());
    if (*raw) {
      winner = std::move(**raw);
      return caf::error{};
    }
    winner = mine;
    return tx.put(secret_fingerprint_key, mine);
  });
  if (err)
    return err;
  if (winner != mine)
    return check_secret_fingerprint(engine, secret);
  return caf::none;
}

caf::error adopt_secret(storage_engine& engine,
                        const deployment_secret& secret) {
  auto mine = secret_fingerprint(secret);
  return engine.update(jurisdiction::none, [&](meta_transaction& tx) {
    return tx.put(secret_fingerprint_key, mine);
  });
}

} // namespace durable
