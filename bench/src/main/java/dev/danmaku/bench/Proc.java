package dev.danmaku.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** A process's CPU time and resident memory, from {@code /proc/<pid>}, and the host's TCP counters (Linux). */
final class Proc {

    /** Clock ticks per second of {@code utime}/{@code stime} (USER_HZ, 100 on Linux). */
    private static final long TICKS_PER_SECOND = 100;

    private Proc() {
    }

    /** User + system CPU time of the process (all its threads), in nanoseconds (10 ms resolution). */
    static long cpuNanos(long pid) {
        String stat = read(Path.of("/proc", Long.toString(pid), "stat"));
        // the command name (field 2) may hold spaces: fields are counted after its closing ')'
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        long utime = Long.parseLong(fields[11]);
        long stime = Long.parseLong(fields[12]);
        return (utime + stime) * (1_000_000_000L / TICKS_PER_SECOND);
    }

    /** Resident set size in bytes ({@code VmRSS}). */
    static long rssBytes(long pid) {
        for (String line : read(Path.of("/proc", Long.toString(pid), "status")).split("\n")) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS for " + pid);
    }

    /** The kernel's TCP counters that tell a run hit its memory limits, by the names the bench prints. */
    private static final Map<String, String> TCP_COUNTERS = Map.of(
            "TcpExt:TCPMemoryPressures", "kernel.tcp.memory.pressures",
            "TcpExt:TCPRcvQDrop", "kernel.tcp.rcvq.drops",
            "TcpExt:PruneCalled", "kernel.tcp.prunes",
            "TcpExt:TCPTimeouts", "kernel.tcp.timeouts",
            "Tcp:RetransSegs", "kernel.tcp.retrans.segs");

    /**
     * The whole host's TCP counters (from {@code /proc/net/netstat} and {@code /proc/net/snmp})
     * that show TCP memory pressure and its consequences: with thousands of sockets on loopback
     * both ends' buffers count against one {@code tcp_mem}, and past it the kernel drops
     * segments, which stall their sockets for the retransmission timeouts (seconds, doubling).
     */
    static Map<String, Long> tcpCounters() {
        Map<String, Long> counters = new TreeMap<>();
        for (String file : List.of("/proc/net/netstat", "/proc/net/snmp")) {
            String[] lines = read(Path.of(file)).split("\n");
            for (int i = 0; i + 1 < lines.length; i += 2) { // a line of names, then one of values
                String[] names = lines[i].split("\\s+");
                String[] values = lines[i + 1].split("\\s+");
                String prefix = names[0];
                for (int k = 1; k < names.length && k < values.length; k++) {
                    String name = TCP_COUNTERS.get(prefix + names[k]);
                    if (name != null) {
                        counters.put(name, Long.parseLong(values[k]));
                    }
                }
            }
        }
        return counters;
    }

    /** {@code after - before}, counter by counter. */
    static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> delta = new TreeMap<>();
        after.forEach((name, value) -> delta.put(name, value - before.getOrDefault(name, 0L)));
        return delta;
    }

    private static String read(Path path) {
        try {
            return Files.readString(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
