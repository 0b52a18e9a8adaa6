package io.herd.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Who is on the other end of the control socket, as the kernel reported it
 * (SO_PEERCRED). Never taken from a request.
 *
 * @param user  the caller's user name (or numeric uid when it has no name)
 * @param admin root, the user the daemon runs as, or a member of the
 *              {@value #ADMIN_GROUP} group on this node
 */
public record Caller(String user, String group, boolean admin) {

    public static final String ADMIN_GROUP = "herd";

    static Caller of(String user, String group) {
        String daemonUser = System.getProperty("user.name");
        boolean admin = "root".equals(user) || user.equals(daemonUser) || inGroup(user, group, Path.of("/etc/group"));
        return new Caller(user, group, admin);
    }

    /** True when the user's primary group is, or /etc/group lists the user in, the admin group. */
    static boolean inGroup(String user, String primaryGroup, Path etcGroup) {
        if (ADMIN_GROUP.equals(primaryGroup)) return true;
        try {
            for (String line : Files.readAllLines(etcGroup)) {
                String[] f = line.split(":", -1);
                if (f.length >= 4 && f[0].equals(ADMIN_GROUP)) {
                    return List.of(f[3].split(",")).contains(user);
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }
}
