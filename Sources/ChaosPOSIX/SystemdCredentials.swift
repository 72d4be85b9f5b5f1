import Glibc

/// Files a systemd unit hands over with `LoadCredential=NAME:PATH`: under such a unit, the file a
/// configuration names by PATH is read from `$CREDENTIALS_DIRECTORY/NAME`, where NAME is PATH's base
/// name. So a controller running as a dynamic user reads its root-only key without owning it, and the
/// same controller.yaml works outside systemd (no `CREDENTIALS_DIRECTORY`: the path as written).
public enum SystemdCredentials {
    /// `$CREDENTIALS_DIRECTORY/<base name of path>` when that variable is set and that file exists, else `path`.
    public static func resolve(_ path: String, directory: String? = currentDirectory()) -> String {
        guard let directory, !directory.isEmpty else { return path }
        let name = POSIXPath.baseName(of: path)
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return path }
        // Only a regular file counts: a directory of that name is not a credential.
        guard !POSIXFiles.isDirectory(POSIXPath.join(directory, name)) else { return path }
        let candidate = POSIXPath.join(directory, name)
        return POSIXFiles.exists(candidate) ? candidate : path
    }

    /// `CREDENTIALS_DIRECTORY`, if set.
    public static func currentDirectory() -> String? {
        guard let value = getenv("CREDENTIALS_DIRECTORY") else { return nil }
        return String(cString: value)
    }
}

extension POSIXFiles {
    /// What identifies a file's content cheaply: inode, size and modification time in nanoseconds (a file
    /// replaced by rename gets a new inode even within the same second); `missing` when it cannot be examined.
    public static func stamp(_ path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return "\(path):missing" }
        return "\(path):\(st.st_ino):\(st.st_size):\(st.st_mtim.tv_sec):\(st.st_mtim.tv_nsec)"
    }
}
