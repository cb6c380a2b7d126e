import XCTest
final class ProfilesPlaceholderTests: XCTestCase { func testPlaceholder() {} }
