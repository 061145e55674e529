/*
 * Unit tests for the migration file handling (etl/migrate.c): which names are
 * migrations, numeric ordering, duplicate versions, the directory lookup. Applying them
 * to a real Postgres is covered by tests/blackbox/test_etl.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../etl/migrate.c"

static void touch(const char *dir, const char *name)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("SELECT 1;\n", f);
    fclose(f);
}

static void test_version_names(void **state)
{
    (void)state;
    assert_int_equal(migration_version("001_schema.sql"), 1);
    assert_int_equal(migration_version("002_refdata.sql"), 2);
    assert_int_equal(migration_version("10_x.sql"), 10);
    assert_int_equal(migration_version("001schema.sql"), -1);
    assert_int_equal(migration_version("schema.sql"), -1);
    assert_int_equal(migration_version("001_schema.sql~"), -1);
    assert_int_equal(migration_version("001_schema.txt"), -1);
    assert_int_equal(migration_version("_x.sql"), -1);
    assert_int_equal(migration_version("99999999999_x.sql"), -1);
}

static void test_scan_order_and_duplicates(void **state)
{
    char dir[] = "/tmp/test_migrate_XXXXXX";
    struct migration *list;
    size_t n = 0;
    char out[4096];
    (void)state;

    assert_non_null(mkdtemp(dir));
    touch(dir, "010_ten.sql");
    touch(dir, "002_two.sql");
    touch(dir, "001_one.sql");
    touch(dir, "README.md");
    list = scan_dir(dir, &n);
    assert_non_null(list);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "001_one.sql");
    assert_string_equal(list[1].name, "002_two.sql");
    assert_string_equal(list[2].name, "010_ten.sql");
    free(list);
    setenv("HISAAB_SQL_DIR", dir, 1);
    assert_int_equal(etl_migrate_dir(out, sizeof(out)), 0);
    assert_string_equal(out, dir);
    touch(dir, "02_dup.sql");
    assert_null(scan_dir(dir, &n));
    setenv("HISAAB_SQL_DIR", "/nonexistent/dir", 1);
    assert_int_equal(etl_migrate_dir(out, sizeof(out)), -1);
    unsetenv("HISAAB_SQL_DIR");
}

static void test_checksum(void **state)
{
    char a[65], b[65];
    (void)state;

    sha256_hex("", 0, a);
    assert_string_equal(a, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("SELECT 1;", 9, b);
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(b), 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_names),
        cmocka_unit_test(test_scan_order_and_duplicates),
        cmocka_unit_test(test_checksum),
    };
    log_init("test_migrate", LOG_ERROR + 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
