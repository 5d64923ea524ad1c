/* The registry client's transport against an in-process server
 * (libmicrohttpd): Confluent's media types, basic auth from the options and
 * from the loaded configuration (never in an error), which answers are the
 * id's fault and which the registry's, and https verified against a CA file
 * (a self-signed certificate made here with libcrypto). The codec's use of
 * the client (decoding, resolution, caching) is in test_codec.c; a real
 * registry in tests/integration/test_registry.c. */
#include "config.h"
#include "schema_registry.h"
#include "testlib.h"
#include "xmalloc.h"

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <unistd.h>

#define USER_INFO "alice:s3cr3t-pa55"
static const char *schema_text = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":"
                                 "\"a\",\"type\":\"int\"}]}";

/* What the server saw last. */
static char seen_accept[256], seen_ctype[256], seen_auth[256];
static atomic_int requests;

static void seen_copy(char *dst, const char *v)
{
    snprintf(dst, 256, "%s", v ? v : "");
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *type,
                              const char *body)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (type)
        MHD_add_response_header(resp, "Content-Type", type);
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* /schemas/ids/1: the schema (needs USER_INFO when the path is under
 * /auth); 2: 200 as text/html (a proxy's page); 3: 404 of an unknown path
 * (Apicurio's shape); 4: Confluent's 40403; 5: 200 that is not JSON. */
static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **state)
{
    (void)cls, (void)version, (void)upload;
    if (!strcmp(method, "POST") && *state == NULL) {
        *state = (void *)1;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&requests, 1);
    seen_copy(seen_accept, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept"));
    seen_copy(seen_ctype, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"));
    seen_copy(seen_auth, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"));
    const char *v1 = "application/vnd.schemaregistry.v1+json";
    if (!strncmp(url, "/auth", 5)) {
        char want[128];
        unsigned char b64[96];
        EVP_EncodeBlock(b64, (const unsigned char *)USER_INFO, (int)strlen(USER_INFO));
        snprintf(want, sizeof want, "Basic %s", b64);
        if (strcmp(seen_auth, want) != 0)
            return answer(conn, 401, v1, "{\"error_code\":401,\"message\":\"Unauthorized\"}");
        url += 5;
    }
    if (!strcmp(method, "POST"))
        return answer(conn, 200, v1, "{\"id\":1}");
    if (!strcmp(url, "/schemas/ids/1")) {
        json_t *j = json_pack("{ss}", "schema", schema_text);
        char *body = json_dumps(j, 0);
        json_decref(j);
        enum MHD_Result r = answer(conn, 200, "application/vnd.schemaregistry.v1+json", body);
        free(body);
        return r;
    }
    if (!strcmp(url, "/schemas/ids/2"))
        return answer(conn, 200, "text/html; charset=utf-8", "<html>log in</html>");
    if (!strcmp(url, "/schemas/ids/3"))
        return answer(conn, 404, "application/json",
                      "{\"error_code\":404,\"message\":\"Could not find resource\"}");
    if (!strcmp(url, "/schemas/ids/5"))
        return answer(conn, 200, NULL, "<html>not json</html>");
    if (!strcmp(url, "/schemas/ids/6"))
        return answer(conn, 200, v1, "{\"schema\":\"{\\\"type\\\":\\\"nope\\\"}\"}");
    return answer(conn, 404, v1, "{\"error_code\":40403,\"message\":\"Schema not found\"}");
}

static struct MHD_Daemon *start_plain(char *url, size_t n)
{
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler,
                                            NULL, MHD_OPTION_END);
    if (d)
        snprintf(url, n, "http://127.0.0.1:%d",
                 MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
    return d;
}

static void media_types_and_headers(void)
{
    char url[64], err[256];
    struct MHD_Daemon *d = start_plain(url, sizeof url);
    CHECK(d != NULL);
    schema_registry *r = schema_registry_new_with(url, NULL, err, sizeof err);
    CHECK_MSG(r != NULL, "%s", err);
    const schema_registry_entry *e;
    codec_error ce;
    CHECK(schema_registry_get(r, 1, &e, &ce) == 0 && e->id == 1);
    CHECK_MSG(strncmp(seen_accept, "application/vnd.schemaregistry.v1+json", 38) == 0, "%s",
              seen_accept);
    CHECK_EQ_STR(seen_auth, ""); /* no credentials configured, none sent */
    int32_t id = 0;
    CHECK(schema_registry_register(r, "s-value", schema_text, &id, &ce) == 0 && id == 1);
    CHECK_EQ_STR(seen_ctype, "application/vnd.schemaregistry.v1+json");
    /* A proxy's page is not an answer about the id: retried, not dead-lettered. */
    CHECK(schema_registry_get(r, 2, &e, &ce) == -1);
    CHECK_MSG(ce.code == CODEC_E_REGISTRY_UNAVAILABLE && strstr(ce.message, "text/html"), "%s: %s",
              codec_errcode_name(ce.code), ce.message);
    /* Nor is a 404 of a wrong base URL (not Confluent's 40403). */
    CHECK(schema_registry_get(r, 3, &e, &ce) == -1);
    CHECK_MSG(ce.code == CODEC_E_REGISTRY_UNAVAILABLE && strstr(ce.message, "ccompat"), "%s: %s",
              codec_errcode_name(ce.code), ce.message);
    CHECK(schema_registry_get(r, 5, &e, &ce) == -1 && ce.code == CODEC_E_REGISTRY_UNAVAILABLE);
    /* Confluent's "schema not found" is the id's fault. */
    CHECK(schema_registry_get(r, 4, &e, &ce) == -1 && ce.code == CODEC_E_UNKNOWN_SCHEMA_ID);
    /* So is a schema that does not parse, and like a 404 it is not asked
     * again for a while: a stream of such messages costs one request. */
    int before = atomic_load(&requests);
    for (int i = 0; i < 3; i++)
        CHECK_MSG(schema_registry_get(r, 6, &e, &ce) == -1 &&
                      ce.code == CODEC_E_UNKNOWN_SCHEMA_ID && strstr(ce.message, "does not parse"),
                  "%s: %s", codec_errcode_name(ce.code), ce.message);
    CHECK_EQ_INT(atomic_load(&requests) - before, 1);
    schema_registry_destroy(r);
    MHD_stop_daemon(d);
}

static void basic_auth(void)
{
    char url[96], err[256];
    struct MHD_Daemon *d = start_plain(url, sizeof url);
    CHECK(d != NULL);
    strcat(url, "/auth");
    const schema_registry_entry *e;
    codec_error ce;
    /* Without credentials: 401, the registry's problem (retried), with a hint. */
    schema_registry *r = schema_registry_new_with(url, NULL, err, sizeof err);
    CHECK(r != NULL);
    CHECK(schema_registry_get(r, 1, &e, &ce) == -1 && ce.code == CODEC_E_REGISTRY_UNAVAILABLE);
    CHECK_MSG(strstr(ce.message, "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO") != NULL, "%s", ce.message);
    schema_registry_destroy(r);
    /* Wrong password: refused, and the error never carries the credential. */
    schema_registry_options o = {.user_info = "alice:wrong-pass"};
    r = schema_registry_new_with(url, &o, err, sizeof err);
    CHECK(r != NULL);
    CHECK(schema_registry_get(r, 1, &e, &ce) == -1 && ce.code == CODEC_E_REGISTRY_UNAVAILABLE);
    CHECK(strstr(ce.message, "wrong-pass") == NULL);
    schema_registry_destroy(r);
    o.user_info = USER_INFO;
    r = schema_registry_new_with(url, &o, err, sizeof err);
    CHECK(r != NULL);
    CHECK_MSG(schema_registry_get(r, 1, &e, &ce) == 0, "%s", ce.message);
    int32_t id = 0;
    CHECK(schema_registry_register(r, "s-value", schema_text, &id, &ce) == 0 && id == 1);
    schema_registry_destroy(r);

    /* From the loaded configuration, as the processes get it. */
    setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9", 1);
    setenv("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", USER_INFO, 1);
    ruth_config cfg = {0};
    CHECK_MSG(config_load(CFG_SIMULATE, &cfg, err, sizeof err) == 0, "%s", err);
    r = schema_registry_new(url, err, sizeof err);
    config_free(&cfg);
    unsetenv("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO");
    CHECK(r != NULL);
    CHECK_MSG(schema_registry_get(r, 1, &e, &ce) == 0, "%s", ce.message);
    schema_registry_destroy(r);
    MHD_stop_daemon(d);
}

static void bad_options(void)
{
    char err[256];
    schema_registry_options o = {.user_info = "just-a-token-no-colon"};
    CHECK(schema_registry_new_with("http://127.0.0.1:1", &o, err, sizeof err) == NULL);
    CHECK(strstr(err, "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO") && !strstr(err, "just-a-token"));
    o = (schema_registry_options){.ca_file = "/nonexistent/ca.pem"};
    CHECK(schema_registry_new_with("https://127.0.0.1:1", &o, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "SCHEMA_REGISTRY_SSL_CA_LOCATION") && strstr(err, "/nonexistent/ca.pem"),
              "%s", err);
    o = (schema_registry_options){.cert_file = "/etc/hostname"};
    CHECK(schema_registry_new_with("https://127.0.0.1:1", &o, err, sizeof err) == NULL);
    CHECK(strstr(err, "SCHEMA_REGISTRY_SSL_KEY_LOCATION") != NULL);
}

/* ---- https ---- */

/* A self-signed certificate for IP 127.0.0.1 (PEM text in cert and key). */
static bool make_cert(char **cert, char **key)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    bool ok = pk && x;
    ok = ok && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
         X509_gmtime_adj(X509_getm_notAfter(x), 86400) && X509_set_pubkey(x, pk);
    X509_NAME *n = X509_get_subject_name(x);
    ok = ok && X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1",
                                          -1, -1, 0);
    ok = ok && X509_set_issuer_name(x, n);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    ok = ok && ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ok = ok && X509_sign(x, pk, EVP_sha256());
    BIO *bc = BIO_new(BIO_s_mem()), *bk = BIO_new(BIO_s_mem());
    ok = ok && PEM_write_bio_X509(bc, x) && PEM_write_bio_PrivateKey(bk, pk, 0, 0, 0, 0, 0);
    char *p;
    long len = BIO_get_mem_data(bc, &p);
    *cert = xstrndup(p, (size_t)len);
    len = BIO_get_mem_data(bk, &p);
    *key = xstrndup(p, (size_t)len);
    BIO_free(bc);
    BIO_free(bk);
    X509_free(x);
    EVP_PKEY_free(pk);
    return ok;
}

static void https_with_ca_file(void)
{
    char *cert = NULL, *key = NULL;
    bool made = make_cert(&cert, &key);
    char dir[] = "/tmp/ruth-registry-tls.XXXXXX";
    CHECK(made && mkdtemp(dir));
    char ca[96], other[96], err[256];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(other, sizeof other, "%s/other.pem", dir);
    FILE *f = fopen(ca, "w");
    CHECK(f != NULL);
    fputs(cert, f);
    fclose(f);
    char *cert2 = NULL, *key2 = NULL; /* a CA that did not sign it */
    CHECK(make_cert(&cert2, &key2));
    f = fopen(other, "w");
    CHECK(f != NULL);
    fputs(cert2, f);
    fclose(f);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL,
                                            NULL, handler, NULL, MHD_OPTION_HTTPS_MEM_KEY, key,
                                            MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_END);
    CHECK(d != NULL);
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d",
             MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
    const schema_registry_entry *e;
    codec_error ce;
    /* Verified against the CA file: answered. */
    schema_registry_options o = {.ca_file = ca};
    schema_registry *r = schema_registry_new_with(url, &o, err, sizeof err);
    CHECK(r != NULL);
    CHECK_MSG(schema_registry_get(r, 1, &e, &ce) == 0, "%s", ce.message);
    schema_registry_destroy(r);
    /* Against the wrong CA, or the system's: refused before any request,
     * and that is the registry's (configuration's) problem, not the id's. */
    int before = atomic_load(&requests);
    const char *cas[] = {other, NULL};
    for (int i = 0; i < 2; i++) {
        o.ca_file = cas[i];
        r = schema_registry_new_with(url, &o, err, sizeof err);
        CHECK(r != NULL);
        CHECK(schema_registry_get(r, 1, &e, &ce) == -1);
        CHECK_MSG(ce.code == CODEC_E_REGISTRY_UNAVAILABLE, "%s", ce.message);
        schema_registry_destroy(r);
    }
    CHECK_EQ_INT(atomic_load(&requests), before);
    MHD_stop_daemon(d);
    unlink(ca);
    unlink(other);
    rmdir(dir);
    free(cert);
    free(key);
    free(cert2);
    free(key2);
}

int main(void)
{
    TEST_RUN(media_types_and_headers);
    TEST_RUN(basic_auth);
    TEST_RUN(bad_options);
    TEST_RUN(https_with_ca_file);
    return TEST_EXIT();
}
