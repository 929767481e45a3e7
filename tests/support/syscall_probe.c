/* Calls each system call named on the command line in a forked child, with arguments that make the kernel
 * fail it harmlessly (NULL pointers, bad flags) when it gets that far, and prints "NAME ERRNO" (0 when the
 * call succeeded). A seccomp filter that denies a call answers with its own errno before the kernel looks
 * at the arguments, so the same call reads differently with and without the filter. Static: the
 * container's image has no C library. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

struct probe { const char *name; long nr; long a[6]; };

static struct probe probes[] = {
    {"add_key", SYS_add_key, {0, 0, 0, 0, 0}},
    {"keyctl", SYS_keyctl, {-1}},
    {"request_key", SYS_request_key, {0, 0, 0, 0}},
    {"bpf", SYS_bpf, {-1, 0, 0}},
    {"perf_event_open", SYS_perf_event_open, {0, 0, -1, -1, 0}},
    {"userfaultfd", SYS_userfaultfd, {-1}},
    {"io_uring_setup", SYS_io_uring_setup, {0, 0}},
    {"io_uring_enter", SYS_io_uring_enter, {-1, 0, 0, 0, 0, 0}},
    {"io_uring_register", SYS_io_uring_register, {-1, 0, 0, 0}},
    {"kexec_load", SYS_kexec_load, {0, 0, 0, 0}},
    {"kexec_file_load", SYS_kexec_file_load, {-1, -1, 0, 0, 0}},
    {"init_module", SYS_init_module, {0, 0, 0}},
    {"finit_module", SYS_finit_module, {-1, 0, 0}},
    {"delete_module", SYS_delete_module, {0, 0}},
    {"mount", SYS_mount, {0, 0, 0, 0, 0}},
    {"umount2", SYS_umount2, {0, 0}},
    {"pivot_root", SYS_pivot_root, {0, 0}},
    {"swapon", SYS_swapon, {0, 0}},
    {"swapoff", SYS_swapoff, {0}},
    {"reboot", SYS_reboot, {0, 0, 0, 0}},
    {"open_by_handle_at", SYS_open_by_handle_at, {-1, 0, 0}},
    {"name_to_handle_at", SYS_name_to_handle_at, {-100, 0, 0, 0, 0}},
    {"setns", SYS_setns, {-1, 0}},
    {"unshare(CLONE_NEWUSER)", SYS_unshare, {CLONE_NEWUSER}},
    {"unshare(CLONE_NEWNS)", SYS_unshare, {CLONE_NEWNS}},
    {"clone(CLONE_NEWUSER)", SYS_clone, {CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0}},
    {"clone(CLONE_NEWNET)", SYS_clone, {CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0}},
    {"clone3", SYS_clone3, {0, 0}},
    {"personality(ADDR_NO_RANDOMIZE)", SYS_personality, {0x0040000}},
    {"settimeofday", SYS_settimeofday, {0, 0}},
    {"acct", SYS_acct, {0}},
    {"iopl", SYS_iopl, {9}},
    {"syslog", SYS_syslog, {-1, 0, 0}},
    {"lookup_dcookie", SYS_lookup_dcookie, {0, 0, 0}},
    {"quotactl", SYS_quotactl, {-1, 0, 0, 0}},
    {"kcmp", SYS_kcmp, {-1, -1, -1, 0, 0}},
    {"uselib", SYS_uselib, {0}},
    {"nfsservctl", SYS_nfsservctl, {0}},
    {"mbind", SYS_mbind, {0, 0, -1, 0, 0, 0}},
    {"fsopen", SYS_fsopen, {0, 0}},
    {"open_tree", SYS_open_tree, {-1, 0, 0}},
    /* allowed: these must not be refused by the filter */
    {"getpid", SYS_getpid, {0}},
    {"uname", SYS_uname, {0}},
    {"socket", SYS_socket, {2, 1, 0}},
    {"clone", SYS_clone, {SIGCHLD, 0, 0, 0, 0}},
    {"personality(PER_LINUX)", SYS_personality, {0}},
    {"personality(query)", SYS_personality, {0xffffffff}},
    {"ptrace", SYS_ptrace, {-1, 0, 0, 0}},
    {"mkdirat", SYS_mkdirat, {-100, 0, 0}},
    {"chown", SYS_chown, {0, 0, 0}},
    {"statx", SYS_statx, {-100, 0, 0, 0, 0}},
    {"rseq", SYS_rseq, {0, 0, 0, 0}},
    {"close_range", SYS_close_range, {1000, 1001, 0}},
};

static void probe(const struct probe *p) {
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) {
        long r = syscall(p->nr, p->a[0], p->a[1], p->a[2], p->a[3], p->a[4], p->a[5]);
        if (r == 0 && (p->nr == SYS_clone)) _exit(0); /* the new child of a successful clone */
        _exit(r < 0 ? errno : 0);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) { perror("waitpid"); exit(2); }
    if (WIFSIGNALED(status)) printf("%s signal%d\n", p->name, WTERMSIG(status));
    else printf("%s %d\n", p->name, WEXITSTATUS(status));
}

int main(int argc, char **argv) {
    size_t n = sizeof probes / sizeof probes[0];
    for (size_t i = 0; i < n; i++) {
        int want = argc < 2;
        for (int j = 1; j < argc; j++) if (strcmp(argv[j], probes[i].name) == 0) want = 1;
        if (want) probe(&probes[i]);
    }
    fflush(stdout);
    return 0;
}
