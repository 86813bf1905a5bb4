// How the dashboard names the object of a validation issue, as the
// server's topology.Ref.String does: "decky web service ssh key users",
// "lan dmz", "decky web address 2".
export function refText(o) {
  if (!o || !o.kind) return '';
  if (o.kind === 'service') return `decky ${o.decky} service ${o.name}${o.key ? ' key ' + o.key : ''}`;
  return `${o.kind}${o.name ? ' ' + o.name : ''}${o.address ? ' address ' + o.address : ''}`;
}
