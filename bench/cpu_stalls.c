/*
 * bench_cpu_stalls: how long this machine takes a CPU away from a program
 * that never sleeps. A loop pinned to one CPU reads CLOCK_MONOTONIC as fast
 * as it can for a while and counts the gaps between two reads. On bare metal
 * the largest gap is a few microseconds; on a virtual machine the host's
 * stalls show up here, and no benchmark on that machine can be more precise
 * than they allow.
 *
 * Usage: bench_cpu_stalls [--seconds S] [--both]
 *   --seconds S  how long each loop runs (default 10)
 *   --both       also run one loop on each of CPUs 0 and 1 at the same time
 */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void spin(int cpu, double seconds, const char *label)
{
    cpu_set_t set;
    int64_t start, prev, max_gap = 0, limit = (int64_t)(seconds * 1e9);
    long over_100us = 0, over_500us = 0, over_1ms = 0;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        printf("%-8s CPU %d: cannot pin there, skipped\n", label, cpu);
        return;
    }
    start = prev = now_ns();
    while (prev - start < limit) {
        int64_t t = now_ns(), gap = t - prev;
        if (gap > max_gap)
            max_gap = gap;
        over_100us += gap > 100000;
        over_500us += gap > 500000;
        over_1ms += gap > 1000000;
        prev = t;
    }
    printf("%-8s CPU %d: %4.1f s  largest gap %8.3f ms  gaps > 0.1 ms: %6ld  > 0.5 ms: %5ld  "
           "> 1 ms: %5ld\n",
           label, cpu, seconds, (double)max_gap / 1e6, over_100us, over_500us, over_1ms);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    double seconds = 10;
    int both = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--both") == 0) {
            both = 1;
        } else {
            int help = strcmp(argv[i], "--help") == 0;
            fprintf(help ? stdout : stderr, "usage: %s [--seconds S] [--both]\n", argv[0]);
            return help ? 0 : 2;
        }
    }
    if (!(seconds > 0 && seconds <= 600)) {
        fprintf(stderr, "%s: --seconds must be in (0, 600]\n", argv[0]);
        return 2;
    }
    spin(0, seconds, "alone");
    spin(1, seconds, "alone");
    if (both) {
        pid_t pid = fork();
        if (pid == 0) {
            spin(1, seconds, "together");
            _exit(0);
        }
        spin(0, seconds, "together");
        if (pid > 0)
            waitpid(pid, NULL, 0);
    }
    return 0;
}
