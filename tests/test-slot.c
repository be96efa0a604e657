/* Unit tests for slot.c: what a worker's death costs its slot. A worker
 * that served is replaced at once, for ever; failed starts in a row back
 * off and count towards crash-loop-limit; a ready worker wipes the slate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "macro.h"
#include "slot.h"

#define MAX_BACKOFF (30 * USEC_PER_SEC)
#define T0 (1000 * USEC_PER_SEC)

static void test_died_serving_is_replaced_at_once(void **state) {
        Slot s;

        slot_init(&s, 3);
        assert_int_equal(s.id, 3);
        for (int i = 0; i < 50; i++) {
                slot_ready(&s);
                slot_lost(&s, true, T0, MAX_BACKOFF);
                assert_int_equal(s.failed_starts, 0);
                assert_int_equal(s.last_loss, SLOT_LOSS_DIED_SERVING);
                assert_true(slot_spawn_due(&s, T0));
                assert_false(slot_failing(&s, 1));
        }
        assert_int_equal(s.restarts, 50);
}

static void test_failed_starts_back_off(void **state) {
        static const uint64_t delays_ms[] = { 0, 100, 200, 400, 800 };
        Slot s;

        slot_init(&s, 1);
        for (unsigned i = 0; i < ELEMENTSOF(delays_ms); i++) {
                slot_lost(&s, false, T0, MAX_BACKOFF);
                assert_int_equal(s.failed_starts, i + 1);
                assert_int_equal(s.last_loss, SLOT_LOSS_FAILED_START);
                assert_int_equal(s.backoff_usec, delays_ms[i] * USEC_PER_MSEC);
                assert_true(slot_spawn_due(&s, T0 + delays_ms[i] * USEC_PER_MSEC));
                if (delays_ms[i])
                        assert_false(slot_spawn_due(&s, T0 + delays_ms[i] * USEC_PER_MSEC - 1));
        }
        assert_false(slot_failing(&s, 6));
        assert_true(slot_failing(&s, 5));
        assert_true(slot_failing(&s, 1));
}

static void test_backoff_is_capped(void **state) {
        Slot s;

        slot_init(&s, 1);
        for (int i = 0; i < 100; i++)
                slot_lost(&s, false, T0, 300 * USEC_PER_MSEC);
        assert_int_equal(s.backoff_usec, 300 * USEC_PER_MSEC);
        assert_int_equal(s.failed_starts, 100);
}

/* A worker that became ready wipes the slate: the next failure is the
 * first in a row again, and a serving worker's death is free. */
static void test_ready_starts_again_from_nothing(void **state) {
        Slot s;

        slot_init(&s, 1);
        for (int i = 0; i < 4; i++)
                slot_lost(&s, false, T0, MAX_BACKOFF);
        assert_true(slot_failing(&s, 4));
        slot_ready(&s);
        assert_int_equal(s.failed_starts, 0);
        assert_int_equal(s.backoff_usec, 0);
        assert_true(slot_spawn_due(&s, 0));
        slot_lost(&s, false, T0, MAX_BACKOFF);
        assert_int_equal(s.failed_starts, 1);
        assert_int_equal(s.backoff_usec, 0);
        /* a failed start after one that served is the first in a row */
        slot_lost(&s, true, T0, MAX_BACKOFF);
        slot_lost(&s, false, T0, MAX_BACKOFF);
        assert_int_equal(s.failed_starts, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_died_serving_is_replaced_at_once),
                cmocka_unit_test(test_failed_starts_back_off),
                cmocka_unit_test(test_backoff_is_capped),
                cmocka_unit_test(test_ready_starts_again_from_nothing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
