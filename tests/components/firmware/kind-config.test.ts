import { describe, expect, it } from "vitest";
import { parseFirmwareConfig } from "../../../components/firmware/kind";
import { ConfigError } from "../../../core/errors";
import { findStackKind } from "../../../program/kinds";

const AWS = { kind: "firmware", cloud: "aws", bucketName: "fw-bucket", accountId: "123456789012", publisherRoleArn: "arn:aws:iam::123456789012:role/publisher" };
const GCP = {
  kind: "firmware",
  cloud: "gcp",
  projectId: "fw-project-1",
  projectNumber: "987654321012",
  bucketName: "fw-bucket",
  location: "europe-west1",
  publisherMember: "serviceAccount:p@fw-project-1.iam.gserviceaccount.com",
};
const DO = { kind: "firmware", cloud: "digitalocean", bucketName: "fw-space", region: "fra1" };

describe("the firmware stack kind", () => {
  it("is registered in program/kinds.ts", () => {
    expect(findStackKind("firmware")?.parse).toBe(parseFirmwareConfig);
  });

  it("accepts the three minimal configs with defaults left to the components", () => {
    expect(parseFirmwareConfig(AWS)).toMatchObject({ cloud: "aws", bucketName: "fw-bucket" });
    expect(parseFirmwareConfig(GCP)).toMatchObject({ cloud: "gcp" });
    expect(parseFirmwareConfig(DO)).toMatchObject({ cloud: "digitalocean" });
  });

  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ["an unknown cloud", { ...DO, cloud: "azure" }, "cloud", /`cloud` must be one of/],
    ["another cloud's key", { ...AWS, location: "europe-west1" }, "location", /`location` is not a known key/],
    ["a typo'd key", { ...DO, bucketname: "x" }, "bucketname", /`bucketname` is not a known key/],
    ["an S3 bucket name with capitals", { ...AWS, bucketName: "Firmware" }, "bucketName", /`bucketName` must be 3 to 63 characters.*got "Firmware"/],
    ["a publisher that is not a role ARN", { ...AWS, publisherRoleArn: "arn:aws:iam::123456789012:user/bob" }, "publisherRoleArn", /`publisherRoleArn`/],
    ["a wildcard publisher", { ...AWS, publisherRoleArn: "arn:aws:iam::123456789012:role/*" }, "publisherRoleArn", /wildcards are not allowed/],
    ["a publisher of another account", { ...AWS, publisherRoleArn: "arn:aws:iam::210987654321:role/p" }, "publisherRoleArn", /must be a role of the bucket's account/],
    ["a short account id", { ...AWS, accountId: "12345" }, "accountId", /12-digit/],
    ["retention of 0 days", { ...AWS, retentionDays: 0 }, "retentionDays", /from 1 to 36500; got 0/],
    ["retention as text", { ...AWS, retentionDays: "365" }, "retentionDays", /got "365"/],
    ["readers not a list", { ...AWS, readerRoleArns: "arn:aws:iam::123456789012:role/r" }, "readerRoleArns", /must be a list/],
    ["a bad reader", { ...AWS, readerRoleArns: ["nope"] }, "readerRoleArns[0]", /`readerRoleArns\[0\]`/],
    ["a GCP project number that is an id", { ...GCP, projectNumber: "fw-project-1" }, "projectNumber", /project number/],
    ["a GCP multi-region location", { ...GCP, location: "EU" }, "location", /GCP region/],
    ["a GCP member with two principals", { ...GCP, publisherMember: "allUsers" }, "publisherMember", /one IAM member/],
    ["lockRetention as text", { ...GCP, lockRetention: "yes" }, "lockRetention", /true or false; got "yes"/],
    ["a region without Spaces", { ...DO, region: "nyc1" }, "region", /Spaces region.*got "nyc1"/],
    ["noncurrent expiry of half a day", { ...DO, noncurrentVersionExpirationDays: 0.5 }, "noncurrentVersionExpirationDays", /whole number/],
    ["exemptions not a list", { ...DO, policyExemptions: "none" }, "policyExemptions", /must be a list/],
  ];
  it.each(cases)("refuses %s, naming the key", (_name, raw, key, message) => {
    let caught: unknown;
    try {
      parseFirmwareConfig(raw);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).key).toBe(key);
    expect((caught as ConfigError).message).toMatch(message);
  });
});
