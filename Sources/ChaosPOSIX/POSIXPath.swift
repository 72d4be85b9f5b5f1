/// Paths as strings, split and joined the way the kernel reads them. Pure.
public enum POSIXPath {
    /// `directory/name`.
    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The directory that holds `path`: `/etc/chaos/pki` for `/etc/chaos/pki/ca.pem`, `/` for `/ca.pem`,
    /// `.` for `ca.pem`.
    public static func directory(of path: String) -> String {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// The last component of `path`: `ca.pem` for `/etc/chaos/pki/ca.pem`.
    public static func baseName(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
