#include "hello_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "durable/errc.hpp"

namespace durable::cluster {

namespace {

void put(std::string& out, const std::string& x) {
  auto n = static_cast<uint32_t>(x.size());
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>(n >> (8 * i)));
  out += x;
}

void put(std::string& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>(x >> (8 * i)));
}

} // namespace

std::vector<uint8_t> hello_mac(const hello_key& key, const hello& x,
                               const std::string& from, const std::string& to) {
  std::string data;
  put(data, std::string{"durable-cluster-hello-v1"});
  put(data, from);
  put(data, to);
  put(data, x.cluster);
  put(data, x.node);
  put(data, uint64_t{x.number});
  put(data, x.incarnation);
  put(data, uint64_t{x.namespace_names.size()});
  for (auto& name : x.namespace_names)
    put(data, name);
  put(data, uint64_t{x.namespace_keys.size()});
  for (auto& key_str : x.namespace_keys)
    put(data, key_str);
  std::vector<uint8_t> result(32);
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       result.data(), &size);
  return result;
}

caf::error verify_hello(const hello_key& key, const hello& x,
                        const std::string& from, const std::string& to,
                        const hello& mine, const catalog& nodes) {
  auto refuse = [&](std::string what) {
    return make_error(errc::invalid_argument,
                      "hello refused from \"" + x.node + "\": " + what);
  };
  auto expected = hello_mac(key, x, from, to);
  if (x.mac.size() != expected.size() ||
      CRYPTO_memcmp(x.mac.data(), expected.data(), expected.size()) != 0)
    return refuse("its MAC does not verify (another deployment secret, or "
                  "not meant for this link)");
  if (x.cluster != mine.cluster)
    return refuse("it belongs to cluster \"" + x.cluster + "\", not \"" +
                  mine.cluster + "\"");
  auto* entry = nodes.find(x.number);
  if (!entry || entry->name != x.node)
    return refuse("the catalog has no node \"" + x.node + "\" with number " +
                  std::to_string(x.number));
  if (x.number == mine.number)
    return refuse("it claims this node's own number");
  if (x.namespace_names.size() != x.namespace_keys.size())
    return refuse("its namespace list is malformed");
  for (size_t i = 0; i < x.namespace_names.size(); ++i)
    for (size_t j = 0; j < mine.namespace_names.size(); ++j)
      if (x.namespace_names[i] == mine.namespace_names[j] &&
          x.namespace_keys[i] != mine.namespace_keys[j])
        return refuse("namespace \"" + x.namespace_names[i] + "\" has key " +
                      x.namespace_keys[i] + " there but " +
                      mine.namespace_keys[j] +
                      " here (the registries disagree: apply the same "
                      "migrations on every node)");
  return caf::none;
}

} // namespace durable::cluster
