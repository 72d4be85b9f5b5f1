/// The dependency map as Graphviz DOT: services as boxes (entry points doubled, suspected SPOFs red,
/// performance SPOFs amber), hard dependencies solid, soft ones dashed, hosts that are SPOFs as red
/// ellipses tied to the services they carry. With a proof (`chaos spof verify`), what was proven
/// replaces the suspicion: confirmed SPOFs red, survived green with the failover time, degraded
/// amber, inconclusive grey, and a disagreement with the prediction drawn with a double dashed border.
/// `dot -Tsvg` draws it.
public enum SPOFDiagram {
    public static func dot(_ inventory: Inventory, _ report: SPOFAnalysis.Report, proof: SPOFProof.Report? = nil) -> String {
        let proven = Dictionary((proof?.entries ?? []).map { ($0.component, $0) }, uniquingKeysWith: { a, _ in a })
        /// Attributes for a proven component.
        func provenAttrs(_ e: SPOFProof.Entry, box: Bool) -> [String] {
            var label: String
            var a: [String]
            switch e.proven {
            case .confirmedSPOF: label = "SPOF (proven)"; a = ["color=\"#cf222e\"", "fillcolor=\"#ffebe9\"", "penwidth=2"]
            case .survived: label = "survived" + (e.failoverMs.map { $0 > 0 ? " \(Verdict.seconds($0))" : "" } ?? ""); a = ["color=\"#1a7f37\"", "fillcolor=\"#dafbe1\""]
            case .degraded: label = "slower (proven)"; a = ["color=\"#9a6700\"", "fillcolor=\"#fff8c5\""]
            case .inconclusive: label = "inconclusive"; a = ["color=\"#6e7781\"", "fillcolor=\"#f6f8fa\""]
            }
            if e.agrees == false {
                label += " ≠ predicted \(e.predicted.rawValue)"
                a += ["style=\"\(box ? "rounded," : "")filled,dashed\"", "peripheries=2"]
            }
            return a + ["xlabel=\"\(label)\""]
        }
        func q(_ s: String) -> String { "\"" + s.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\"" }
        let spofServices = Set(report.spofs.compactMap { $0.kind == .singleInstance ? $0.service : nil })
        let slow = Set(report.performance.compactMap { $0.kind == .singleInstance ? $0.service : nil })
        var lines = ["digraph spof {", "  rankdir=LR;", "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"sans-serif\"];",
                     "  edge [fontname=\"sans-serif\", fontsize=10];"]
        for s in inventory.services {
            let hosts = Set(s.instances.map(\.host)).sorted().joined(separator: ", ")
            var label = "\(s.name)\\n\(s.instances.count) instance\(s.instances.count == 1 ? "" : "s") on \(hosts)"
            if s.minHealthy > 1 { label += "\\nminHealthy \(s.minHealthy)" }
            var attrs = ["label=\(q(label).replacing("\\\\n", with: "\\n"))"]
            if s.isEntryPoint { attrs.append("peripheries=2") }
            if let e = proven["service \(s.name)"] { attrs += provenAttrs(e, box: true) }
            else if spofServices.contains(s.name) { attrs += ["color=\"#cf222e\"", "fillcolor=\"#ffebe9\"", "penwidth=2", "xlabel=\"SPOF\""] }
            else if slow.contains(s.name) { attrs += ["color=\"#9a6700\"", "fillcolor=\"#fff8c5\"", "xlabel=\"slow\""] }
            lines.append("  \(q(s.name)) [\(attrs.joined(separator: ", "))];")
        }
        let names = Set(inventory.services.map(\.name))
        for d in inventory.dependencies where names.contains(d.from) && names.contains(d.to) {
            lines.append("  \(q(d.from)) -> \(q(d.to))" + (d.kind == .soft ? " [style=dashed, label=\"soft\"]" : "") + ";")
        }
        // Hosts and failure domains that are findings (or were proven), as ellipses tied to the
        // services they carry.
        var groups: [(node: String, hosts: Set<String>, finding: SPOFAnalysis.Finding?)] = []
        for f in report.spofs + report.performance where f.kind != .singleInstance {
            if let h = f.host { groups.append(("host " + h, [h], f)) } else if let hs = f.hosts { groups.append((f.component, Set(hs), f)) }
        }
        for d in inventory.domains() where proven["\(d.kind) \(d.value)"] != nil && !groups.contains(where: { $0.node == "\(d.kind) \(d.value)" }) {
            groups.append(("\(d.kind) \(d.value)", Set(inventory.hosts(in: d).map(\.name)), nil))
        }
        for (node, hosts, f) in groups {
            if let e = proven[node] {
                let a = provenAttrs(e, box: false)
                lines.append("  \(q(node)) [shape=ellipse\(a.contains { $0.hasPrefix("style=") } ? "" : ", style=filled"), \(a.joined(separator: ", "))];")
            } else if let f {
                let red = !f.cuts.isEmpty
                lines.append("  \(q(node)) [shape=ellipse, style=filled, fillcolor=\(red ? "\"#ffebe9\"" : "\"#fff8c5\""), color=\(red ? "\"#cf222e\"" : "\"#9a6700\""), xlabel=\(red ? "\"SPOF\"" : "\"slow\"")];")
            }
            for s in inventory.services where s.instances.contains(where: { hosts.contains($0.host) }) {
                lines.append("  \(q(node)) -> \(q(s.name)) [style=dotted, arrowhead=none];")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
