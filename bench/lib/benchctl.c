/* benchctl: victim and wrapper helper for the bench/ scripts (bench/kill.sh and bench/run.sh compile
 * this file at run time).
 *   benchctl exec  DIR PROG [ARG...]  read DIR/pid, replace "{pid}" in ARGs, execv(PROG) - the timed wrapper
 *   benchctl next  DIR                check the previous victim (if any), then start a fresh one
 *   benchctl check DIR                the current victim must have died of SIGKILL (waits up to 3 s)
 *   benchctl reap  DIR                SIGKILL leftover victims started here (pid and start time must match)
 * Files in DIR: pid (current victim), victims ("pid starttime" per victim started), status.PID (written by
 * the keeper after waitpid: "signal N" or "exit N"), killed (one line per verified kill), FAILED (reasons). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VICTIM "/bin/sleep"
static const char *dir;

static void failf(const char *fmt, ...) {
    char msg[512];
    va_list ap; va_start(ap, fmt); vsnprintf(msg, sizeof msg, fmt, ap); va_end(ap);
    fprintf(stderr, "benchctl: %s\n", msg);
    char p[4096]; snprintf(p, sizeof p, "%s/FAILED", dir);
    FILE *f = fopen(p, "a"); if (f) { fprintf(f, "%s\n", msg); fclose(f); }
    exit(1);
}

static int read_small(const char *path, char *buf, size_t n) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    if (r < 0) return -1;
    buf[r] = 0;
    return (int)r;
}

static void write_atomic(const char *name, const char *text) {
    char tmp[4096], fin[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.%d", dir, name, (int)getpid());
    snprintf(fin, sizeof fin, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0 || rename(tmp, fin) != 0)
        failf("cannot write %s: %s", fin, strerror(errno));
}

static void append_line(const char *name, const char *text) {
    char p[4096]; snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) < 0) failf("cannot append to %s", p);
    close(fd);
}

/* state char and start time (field 22) of /proc/PID/stat; 0 if the process is gone */
static char proc_state(pid_t pid, unsigned long long *start) {
    char p[64], buf[1024];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    if (read_small(p, buf, sizeof buf) <= 0) return 0;
    char *s = strrchr(buf, ')');
    if (!s || s[1] != ' ') return 0;
    char state = s[2];
    if (start) {
        *start = 0;
        char *q = s + 2; /* field 3 */
        for (int field = 3; field < 22 && q; field++) { q = strchr(q, ' '); if (q) q++; }
        if (q) *start = strtoull(q, NULL, 10);
    }
    return state;
}

static void nap(long usec) { struct timespec t = { usec / 1000000, (usec % 1000000) * 1000 }; nanosleep(&t, NULL); }

static pid_t current_pid(void) {
    char p[4096], buf[64];
    snprintf(p, sizeof p, "%s/pid", dir);
    if (read_small(p, buf, sizeof buf) <= 0) return 0;
    return (pid_t)atoi(buf);
}

static void check(pid_t pid) {
    char p[4096], buf[128];
    snprintf(p, sizeof p, "%s/status.%d", dir, (int)pid);
    for (int i = 0; i < 3000 && read_small(p, buf, sizeof buf) <= 0; i++) nap(1000);
    if (read_small(p, buf, sizeof buf) <= 0) {
        char st = proc_state(pid, NULL);
        failf("victim %d was NOT killed: still alive 3 s after the timed run (State %c)", (int)pid, st ? st : '?');
    }
    buf[strcspn(buf, "\n")] = 0;
    if (strcmp(buf, "signal 9") != 0) failf("victim %d ended by '%s', not by SIGKILL", (int)pid, buf);
    unsigned long long start;
    char st = proc_state(pid, &start);
    if (st && st != 'Z' && st != 'X') {
        /* the keeper reaped it, so a live process here can only be a reused pid: make sure */
        char v[4096], line[128], want[64];
        snprintf(v, sizeof v, "%s/victims", dir);
        FILE *f = fopen(v, "r");
        snprintf(want, sizeof want, "%d %llu\n", (int)pid, start);
        while (f && fgets(line, sizeof line, f)) if (!strcmp(line, want)) failf("victim %d is still running", (int)pid);
        if (f) fclose(f);
    }
    char line[64]; snprintf(line, sizeof line, "%d\n", (int)pid);
    append_line("killed", line);
    snprintf(p, sizeof p, "%s/pid", dir);
    unlink(p);
}

static void spawn(void) {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) failf("pipe: %s", strerror(errno));
    pid_t keeper = fork();
    if (keeper < 0) failf("fork: %s", strerror(errno));
    if (keeper == 0) {
        close(ready[0]);
        setsid();
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2);
        if (devnull > 2) close(devnull);
        int execpipe[2];
        if (pipe2(execpipe, O_CLOEXEC) != 0) failf("pipe: %s", strerror(errno));
        pid_t v = fork();
        if (v < 0) failf("fork: %s", strerror(errno));
        if (v == 0) {
            sigset_t all; sigemptyset(&all); sigprocmask(SIG_SETMASK, &all, NULL);
            for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
            close(execpipe[0]);
            execl(VICTIM, "sleep", "1000", (char *)NULL);
            int e = errno; (void)!write(execpipe[1], &e, sizeof e); _exit(127);
        }
        close(execpipe[1]);
        int e = 0;
        if (read(execpipe[0], &e, sizeof e) > 0) failf("cannot exec %s: %s", VICTIM, strerror(e));
        close(execpipe[0]);
        unsigned long long start = 0;
        char st = 0;
        for (int i = 0; i < 2000 && (st = proc_state(v, &start)) != 'S'; i++) nap(100);
        if (st != 'S') failf("victim %d did not fall asleep (State %c)", (int)v, st ? st : '?');
        char line[64];
        snprintf(line, sizeof line, "%d %llu\n", (int)v, start);
        append_line("victims", line);
        snprintf(line, sizeof line, "%d\n", (int)v);
        write_atomic("pid", line);
        (void)!write(ready[1], "k", 1);
        close(ready[1]);
        int status;
        while (waitpid(v, &status, 0) < 0 && errno == EINTR) {}
        if (WIFSIGNALED(status)) snprintf(line, sizeof line, "signal %d\n", WTERMSIG(status));
        else snprintf(line, sizeof line, "exit %d\n", WEXITSTATUS(status));
        char name[64]; snprintf(name, sizeof name, "status.%d", (int)v);
        write_atomic(name, line);
        _exit(0);
    }
    close(ready[1]);
    char c;
    ssize_t r;
    while ((r = read(ready[0], &c, 1)) < 0 && errno == EINTR) {}
    if (r != 1) failf("victim keeper failed to start a victim (see %s/FAILED)", dir);
    waitpid(keeper, NULL, WNOHANG);
}

static void reap(void) {
    char v[4096], line[128];
    snprintf(v, sizeof v, "%s/victims", dir);
    FILE *f = fopen(v, "r");
    if (!f) return;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        int pid; unsigned long long want, start;
        if (sscanf(line, "%d %llu", &pid, &want) != 2) continue;
        char st = proc_state(pid, &start);
        if (st && st != 'Z' && st != 'X' && start == want) { kill(pid, SIGKILL); n++; }
    }
    fclose(f);
    if (n) fprintf(stderr, "benchctl: reaped %d leftover victim(s) in %s\n", n, dir);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: benchctl exec|next|check|reap DIR ...\n"); return 2; }
    dir = argv[2];
    if (!strcmp(argv[1], "exec")) {
        if (argc < 4) return 2;
        char buf[64], p[4096];
        snprintf(p, sizeof p, "%s/pid", dir);
        int n = read_small(p, buf, sizeof buf);
        if (n <= 0) { fprintf(stderr, "benchctl: no %s\n", p); return 126; }
        buf[strcspn(buf, "\n")] = 0;
        size_t plen = strlen(buf);
        char **args = argv + 3;
        for (int i = 1; args[i]; i++) {
            char *hit = strstr(args[i], "{pid}");
            if (!hit) continue;
            size_t len = strlen(args[i]);
            char *out = malloc(len + plen * 8 + 1), *o = out;
            for (const char *s = args[i]; *s;) {
                if (!strncmp(s, "{pid}", 5)) { memcpy(o, buf, plen); o += plen; s += 5; }
                else *o++ = *s++;
            }
            *o = 0;
            args[i] = out;
        }
        execv(args[0], args);
        fprintf(stderr, "benchctl: exec %s: %s\n", args[0], strerror(errno));
        return 127;
    }
    if (!strcmp(argv[1], "next")) { pid_t p = current_pid(); if (p > 0) check(p); spawn(); return 0; }
    if (!strcmp(argv[1], "check")) { pid_t p = current_pid(); if (p <= 0) failf("no current victim"); check(p); return 0; }
    if (!strcmp(argv[1], "reap")) { reap(); return 0; }
    fprintf(stderr, "benchctl: unknown command %s\n", argv[1]);
    return 2;
}
