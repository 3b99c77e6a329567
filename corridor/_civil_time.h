/* Calendar helpers shared by the C parts that convert ISO 8601 times to UTC
 * (corridor/epcis/_hashcore.c, corridor/store/_indexcore.c). Header-only: each extension
 * module includes its own static copy. */
#ifndef CORRIDOR_CIVIL_TIME_H
#define CORRIDOR_CIVIL_TIME_H

static int days_in(int y, int m) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return d[m - 1];
}

/* the k ASCII digits at s as a number, -1 if one is not a digit */
static int num(const char *s, int k) {
    int v = 0;
    for (int i = 0; i < k; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* *minutes (minute of the day, shifted by an offset: -1440 < *minutes < 2880) back into
   0..1439, moving the date y-mo-d by the day it crossed */
static void roll_day(int *y, int *mo, int *d, int *minutes) {
    if (*minutes < 0) {
        *minutes += 1440;
        if (--*d < 1) {
            if (--*mo < 1) {
                *mo = 12;
                --*y;
            }
            *d = days_in(*y, *mo);
        }
    } else if (*minutes >= 1440) {
        *minutes -= 1440;
        if (++*d > days_in(*y, *mo)) {
            *d = 1;
            if (++*mo > 12) {
                *mo = 1;
                ++*y;
            }
        }
    }
}

#endif
