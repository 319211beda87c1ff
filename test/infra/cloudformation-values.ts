/**
 * Resolves the intrinsic functions of a synthesised template's values to what CloudFormation would
 * give on a deploy, with plausible values per resource type: so a test can read the broker's
 * environment off its task definition and check that the broker would start with it.
 */
export interface Deployed {
  account: string;
  region: string;
  parameters: Record<string, string>;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

const hex = (id: string, length: number) => {
  let out = "";
  for (let i = 0; out.length < length; i++) out += ((id.charCodeAt(i % id.length) * 31 + i) % 16).toString(16);
  return out;
};

function refOf(id: string, resources: Resources, deployed: Deployed): string {
  if (id in deployed.parameters) return deployed.parameters[id]!;
  if (id === "AWS::Region") return deployed.region;
  if (id === "AWS::AccountId") return deployed.account;
  if (id === "AWS::Partition") return "aws";
  if (id === "AWS::URLSuffix") return "amazonaws.com";
  const type = resources[id]?.Type;
  switch (type) {
    case "AWS::Cognito::UserPool":
      return `${deployed.region}_${hex(id, 9).toUpperCase().replace(/[0-9]/g, "A")}`;
    case "AWS::Cognito::UserPoolClient":
      return hex(id, 26);
    case "AWS::Cognito::IdentityPool": {
      const h = hex(id, 32);
      return `${deployed.region}:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case "AWS::IAM::ManagedPolicy":
      return `arn:aws:iam::${deployed.account}:policy/${id}`;
    case "AWS::S3::Bucket":
      return `bucket-${hex(id, 12)}`;
    case "AWS::SecretsManager::Secret":
      return `arn:aws:secretsmanager:${deployed.region}:${deployed.account}:secret:${id}-AbCdEf`;
    default:
      return id.toLowerCase();
  }
}

function attributeOf(id: string, attribute: string, resources: Resources, deployed: Deployed): string {
  const type = resources[id]?.Type;
  if (attribute === "Arn" && type === "AWS::IAM::Role") return `arn:aws:iam::${deployed.account}:role/${id}`;
  if (attribute === "Endpoint.Address") return `${id.toLowerCase()}.abcdefghijkl.${deployed.region}.rds.amazonaws.com`;
  if (attribute === "Endpoint.Port") return "5432";
  if (attribute === "PrimaryEndPoint.Address") return `master.${id.toLowerCase()}.abcdef.euw1.cache.amazonaws.com`;
  if (attribute === "PrimaryEndPoint.Port") return "6379";
  return `${id}.${attribute}`;
}

/** The value as deployed; throws on an intrinsic it does not know (so a new one is noticed). */
export function resolve(value: unknown, resources: Resources, deployed: Deployed): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => resolve(v, resources, deployed));
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [fn, argument] = entries[0]!;
    if (fn === "Ref") return refOf(argument as string, resources, deployed);
    if (fn === "Fn::GetAtt") {
      const [id, attribute] = argument as [string, string];
      return attributeOf(id, attribute, resources, deployed);
    }
    if (fn === "Fn::Join") {
      const [separator, parts] = argument as [string, unknown[]];
      return parts.map((p) => resolve(p, resources, deployed)).join(separator);
    }
    if (fn.startsWith("Fn::")) throw new Error(`resolve: ${fn} is not known here`);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v, resources, deployed)]));
}
