import { BadUserInputError } from "../errors.js";

/** The most items any page of the API holds. */
export const MAX_PAGE_SIZE = 100;

/** `first` as every paged field takes it: a whole number from 1 to MAX_PAGE_SIZE. */
export function pageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`first must be a whole number from 1 to ${MAX_PAGE_SIZE}.`, "first");
  }
  return first;
}
